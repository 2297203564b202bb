package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/modelgate"
)

// RecordAudit appends one event to the model's audit trail.
func (a *Activities) RecordAudit(ctx context.Context, in AuditInput) error {
	return toTemporal(lake.New(a.Store).AppendAudit(ctx, in.Event))
}

// CommitModel commits a model version's manifest over artifact blobs the
// client uploaded; a blob that is missing fails the commit (lake refuses
// a manifest naming it). Committing the same content again is a no-op.
func (a *Activities) CommitModel(ctx context.Context, in CommitModelInput) (CommitModelResult, error) {
	m := ModelManifest(in)
	id, created, err := lake.New(a.Store).CommitManifest(ctx, m)
	if err != nil {
		return CommitModelResult{}, toTemporal(err)
	}
	return CommitModelResult{Version: id, Created: created, Artifact: m.Artifact.Digest, Bytes: m.Artifact.Bytes}, nil
}

// VerifyModel re-hashes every artifact file (a tampered blob is refused)
// and checks that the training-set versions the model names still exist.
func (a *Activities) VerifyModel(ctx context.Context, in VerifyModelInput) (VerifyModelResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	l := lake.New(a.Store)
	m, err := l.GetManifest(ctx, lake.KindModel, in.Model, in.Version)
	if err != nil {
		return VerifyModelResult{}, toTemporal(err)
	}
	res := VerifyModelResult{Files: len(m.Files), Lineage: m.Inputs}
	for _, f := range m.Files {
		if err := l.VerifyBlob(ctx, f.Digest); err != nil {
			return res, toTemporal(fmt.Errorf("model %s@%s artifact file %s: %w", in.Model, lake.ShortID(in.Version), f.Partition, err))
		}
		res.Bytes += f.Bytes
	}
	if m.Artifact == nil {
		return res, toTemporal(fmt.Errorf("%w: model %s@%s has no artifact", lake.ErrCorrupt, in.Model, lake.ShortID(in.Version)))
	}
	if got := ArtifactDigest(m.Files); got != m.Artifact.Digest {
		return res, toTemporal(fmt.Errorf("%w: model %s@%s artifact listing hashes to %s, manifest says %s", lake.ErrDigestMismatch, in.Model, lake.ShortID(in.Version), got, m.Artifact.Digest))
	}
	res.Metrics = m.Artifact.Metrics
	for _, input := range m.Inputs {
		if input.Version == "" {
			continue
		}
		if _, err := l.GetManifest(ctx, input.Kind, input.Name, input.Version); err != nil {
			return res, toTemporal(fmt.Errorf("lineage of %s@%s: %w", in.Model, lake.ShortID(in.Version), err))
		}
	}
	return res, nil
}

// ReadChampion reads the version an alias points at and its metrics.
func (a *Activities) ReadChampion(ctx context.Context, in ChampionInput) (ChampionResult, error) {
	l := lake.New(a.Store)
	ref, _, err := l.GetRef(ctx, lake.KindModel, in.Model, in.Alias)
	if errors.Is(err, lake.ErrNotFound) {
		return ChampionResult{}, nil
	}
	if err != nil {
		return ChampionResult{}, toTemporal(err)
	}
	m, err := l.GetManifest(ctx, lake.KindModel, in.Model, ref.Version)
	if err != nil {
		return ChampionResult{}, toTemporal(err)
	}
	res := ChampionResult{Version: ref.Version}
	if m.Artifact != nil {
		res.Metrics = m.Artifact.Metrics
	}
	return res, nil
}

// EvaluateGates runs the gate expressions over the candidate's and the
// champion's metrics.
func (a *Activities) EvaluateGates(ctx context.Context, in GatesInput) (GatesResult, error) {
	res := GatesResult{Passed: true}
	noChampion, err := modelgate.ParseNoChampion(in.NoChampion)
	if err != nil {
		return res, toTemporal(err)
	}
	for _, g := range in.Gates {
		r, err := modelgate.Evaluate(g, in.Candidate, in.Champion, noChampion)
		if err != nil {
			return res, toTemporal(err)
		}
		res.Results = append(res.Results, GateResult{Gate: g, Passed: r.Passed, Skipped: r.Skipped, Detail: r.Detail})
		res.Passed = res.Passed && r.Passed
	}
	return res, nil
}

// MoveAlias moves a model alias by compare-and-swap from the version the
// promotion started with; anything else moved it meanwhile -> Conflict.
func (a *Activities) MoveAlias(ctx context.Context, in MoveAliasInput) (MoveAliasResult, error) {
	opts := lake.MoveOptions{Kind: lake.KindModel, Name: in.Model, Ref: in.Alias, To: in.To, By: in.By, Reason: in.Reason, Workflow: in.Workflow, At: a.now()}
	if in.From == "" {
		opts.ExpectAbsent = true
	} else {
		opts.Expect = in.From
	}
	mv, err := lake.New(a.Store).MoveRef(ctx, opts)
	if err != nil {
		return MoveAliasResult{}, toTemporal(err)
	}
	return MoveAliasResult{Move: mv}, nil
}

// NotifyServing tells every configured serving endpoint that an alias
// moved, so it swaps its index now rather than at its next poll. With
// none configured there is nothing to do: serving also watches the ref.
func (a *Activities) NotifyServing(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	var res NotifyResult
	for _, base := range a.ServeURLs {
		url := strings.TrimSuffix(base, "/") + "/v1/admin/reload"
		body, err := json.Marshal(in)
		if err != nil {
			return res, err
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			cancel()
			return res, err
		}
		req.Header.Set("Content-Type", "application/json")
		if a.ServeToken != "" {
			req.Header.Set("Authorization", "Bearer "+a.ServeToken)
		}
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			return res, fmt.Errorf("notify %s: %w", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return res, fmt.Errorf("notify %s: HTTP %d", url, resp.StatusCode)
		}
		res.Notified = append(res.Notified, base)
	}
	return res, nil
}
