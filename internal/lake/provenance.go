package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// Provenance records how one run produced a version. It is not hashed:
// two identical builds share a version id but each keeps its own record.
type Provenance struct {
	Version     string       `json:"version"`
	WorkflowID  string       `json:"workflow_id,omitempty"`
	RunID       string       `json:"run_id,omitempty"`
	User        string       `json:"user,omitempty"`
	Host        string       `json:"host,omitempty"`
	CodeVersion string       `json:"code_version,omitempty"`
	At          time.Time    `json:"at"`
	Sources     []SourceFile `json:"sources,omitempty"`
}

// SourceFile is a raw input of an import: what the user pointed at.
type SourceFile struct {
	Name   string `json:"name"`
	Digest Digest `json:"digest"`
	Bytes  int64  `json:"bytes"`
	Format string `json:"format,omitempty"`
}

// RecordProvenance stores p beside the version, keyed by run, once.
func (l *Lake) RecordProvenance(ctx context.Context, k Kind, name string, p Provenance) error {
	run := p.RunID
	if run == "" {
		run = p.At.UTC().Format("20060102T150405.000000000Z")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = l.store.PutIfAbsent(ctx, runKey(k, name, p.Version, run), bytes.NewReader(b), int64(len(b)))
	if errors.Is(err, objstore.ErrAlreadyExists) {
		return nil
	}
	return err
}

// Provenances returns every run that produced a version, oldest first.
func (l *Lake) Provenances(ctx context.Context, k Kind, name, id string) ([]Provenance, error) {
	var out []Provenance
	prefix := fmt.Sprintf("%s/%s/runs/%s/", k, name, id)
	for o, err := range objstore.All(ctx, l.store, prefix) {
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		rc, _, err := l.store.Get(ctx, o.Key, objstore.GetOptions{})
		if err != nil {
			return nil, err
		}
		var p Provenance
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&p)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, o.Key, err)
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Provenance) int { return a.At.Compare(b.At) })
	return out, nil
}
