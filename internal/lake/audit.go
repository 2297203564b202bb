package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// AuditEvent is one step of a model's story: registered, a promotion's
// verification, gates, approval, alias move, notification, compensation,
// rollback. Events are append-only (PutIfAbsent) and never rewritten.
type AuditEvent struct {
	At      time.Time `json:"at"`
	Model   string    `json:"model"`
	Version string    `json:"version,omitempty"`
	Alias   string    `json:"alias,omitempty"`
	Request string    `json:"request,omitempty"` // promotion request id
	// Seq orders events written in the same instant (one workflow task).
	Seq      int               `json:"seq"`
	Step     string            `json:"step"`
	Outcome  string            `json:"outcome"` // ok, failed, waiting, approved, rejected, timeout, compensated
	By       string            `json:"by,omitempty"`
	Comment  string            `json:"comment,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
	Workflow string            `json:"workflow,omitempty"`
}

func auditPrefix(model string) string { return fmt.Sprintf("%s/%s/audit/", KindModel, model) }

// AppendAudit writes an event under a key derived from its time, request
// and step, so a retried activity writes the same key and the second
// write is a no-op: the trail never shows a step twice.
func (l *Lake) AppendAudit(ctx context.Context, e AuditEvent) error {
	if err := ValidateName("model", e.Model); err != nil {
		return err
	}
	key := fmt.Sprintf("%s%020d-%06d-%s-%s.json", auditPrefix(e.Model), e.At.UnixNano(), e.Seq, sanitize(e.Request), sanitize(e.Step))
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = l.store.PutIfAbsent(ctx, key, bytes.NewReader(b), int64(len(b)))
	if errors.Is(err, objstore.ErrAlreadyExists) {
		return nil
	}
	return err
}

// Audit returns a model's events, oldest first.
func (l *Lake) Audit(ctx context.Context, model string) ([]AuditEvent, error) {
	if err := ValidateName("model", model); err != nil {
		return nil, err
	}
	var out []AuditEvent
	for o, err := range objstore.All(ctx, l.store, auditPrefix(model)) {
		if err != nil {
			return nil, err
		}
		rc, _, err := l.store.Get(ctx, o.Key, objstore.GetOptions{})
		if err != nil {
			return nil, err
		}
		var e AuditEvent
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&e)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, o.Key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// sanitize keeps a free-form id usable inside one key segment.
func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			out[i] = '_'
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}
