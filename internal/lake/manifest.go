package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
)

// ManifestFormat versions the manifest layout; it is part of the hashed
// content, so a layout change can never collide with an older id.
const ManifestFormat = 1

// Manifest is the immutable description of one version. Everything in it
// is hashed into the version id, so it holds only what determines the
// content (schema, files, stats, lake inputs, build parameters) and
// nothing that changes between identical runs (time, user, run ids: those
// live in Provenance).
type Manifest struct {
	Format int                   `json:"format"`
	Kind   Kind                  `json:"kind"`
	Name   string                `json:"name"`
	Schema tabular.Schema        `json:"schema"`
	Files  []File                `json:"files"`
	Rows   int64                 `json:"rows"`
	Bytes  int64                 `json:"bytes"`
	Stats  []tabular.ColumnStats `json:"stats,omitempty"`
	// Inputs are other lake versions this one was derived from (a feature
	// view's source, a training set's spine and views, a spec digest).
	Inputs []Input `json:"inputs,omitempty"`
	// Params are build parameters that change the content (shard count,
	// split fractions, seed), as sorted key/value pairs.
	Params map[string]string `json:"params,omitempty"`
	// Artifact is set for model versions: the digest of the model files.
	Artifact *Artifact `json:"artifact,omitempty"`
}

// File is one parquet blob of a version.
type File struct {
	Digest Digest `json:"digest"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	// Partition names the shard or split this file belongs to, if any.
	Partition string `json:"partition,omitempty"`
}

// Input names one lake object a version was built from.
type Input struct {
	Role    string `json:"role"` // e.g. "source", "spine", "view", "spec"
	Kind    Kind   `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	Digest  Digest `json:"digest,omitempty"`
}

// Artifact describes a model's files.
type Artifact struct {
	Digest    Digest             `json:"digest"`
	Bytes     int64              `json:"bytes"`
	Files     int                `json:"files"`
	Framework string             `json:"framework,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
}

// Canonical returns the bytes that are hashed and stored. encoding/json
// emits struct fields in declaration order and map keys sorted, so equal
// manifests always encode identically.
func (m *Manifest) Canonical() ([]byte, error) {
	if m.Format == 0 {
		m.Format = ManifestFormat
	}
	return json.Marshal(m)
}

// ID returns the version id: hex sha256 of the canonical encoding.
func (m *Manifest) ID() (string, error) {
	b, err := m.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ShortID is how versions are shown to people; any unique prefix of at
// least MinPrefix characters resolves back to the full id.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// CommitManifest stores m immutably and returns its id. Committing the
// same content again is a no-op that returns the same id, which makes the
// commit step safe to retry.
func (l *Lake) CommitManifest(ctx context.Context, m *Manifest) (id string, created bool, err error) {
	if err := ValidateName(string(m.Kind), m.Name); err != nil {
		return "", false, err
	}
	b, err := m.Canonical()
	if err != nil {
		return "", false, err
	}
	sum := sha256.Sum256(b)
	id = hex.EncodeToString(sum[:])
	if _, err := l.store.Stat(ctx, versionKey(m.Kind, m.Name, id)); err == nil {
		return id, false, nil // a retry: the version and its blobs are already live
	}
	if err := l.holdManifestBlobs(ctx, m); err != nil {
		return "", false, fmt.Errorf("commit %s %s: %w", kindNoun(m.Kind), m.Name, err)
	}
	_, err = l.store.PutIfAbsent(ctx, versionKey(m.Kind, m.Name, id), bytes.NewReader(b), int64(len(b)))
	switch {
	case err == nil:
		return id, true, nil
	case errors.Is(err, objstore.ErrAlreadyExists):
		return id, false, nil
	default:
		return "", false, err
	}
}

// GetManifest reads and verifies a version's manifest.
func (l *Lake) GetManifest(ctx context.Context, k Kind, name, id string) (*Manifest, error) {
	rc, _, err := l.store.Get(ctx, versionKey(k, name, id), objstore.GetOptions{})
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s %s has no version %s", ErrNotFound, kindNoun(k), name, id)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != id {
		return nil, fmt.Errorf("%w: manifest %s/%s@%s does not hash to its id", ErrCorrupt, k, name, id)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest %s/%s@%s: %v", ErrCorrupt, k, name, id, err)
	}
	return &m, nil
}

func kindNoun(k Kind) string {
	switch k {
	case KindModel:
		return "model"
	case KindSpec:
		return "feature spec"
	case KindIndex:
		return "serving index"
	}
	return "dataset"
}
