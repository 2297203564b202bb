package activities

import (
	"context"
	"fmt"
	"io"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
)

// maxSpecBytes bounds what a spec read holds in memory (as LoadSpec does).
const maxSpecBytes = 16 << 20

// CommitSpecInput names a spec file the client uploaded as a blob.
type CommitSpecInput struct {
	Project string      `json:"project"`
	Spec    lake.Digest `json:"spec"`
	// File is the spec's base name: positions in errors and in the
	// manifest's params refer to it.
	File string `json:"file"`
}

// CommitSpecResult is the committed spec version.
type CommitSpecResult struct {
	Version    string `json:"version"`
	Created    bool   `json:"created"`
	SpecDigest string `json:"spec_digest"`
}

// CommitSpec parses the uploaded spec again (the version must be a spec
// extract and build can load, whoever started the run) and commits its
// manifest. Committing the same spec again is a no-op.
func (a *Activities) CommitSpec(ctx context.Context, in CommitSpecInput) (CommitSpecResult, error) {
	l := lake.New(a.Store)
	rc, _, err := l.OpenBlob(ctx, in.Spec)
	if err != nil {
		return CommitSpecResult{}, toTemporal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxSpecBytes+1))
	if err != nil {
		return CommitSpecResult{}, toTemporal(err)
	}
	if len(data) > maxSpecBytes {
		return CommitSpecResult{}, toTemporal(fmt.Errorf("%w: %s: larger than %d bytes", features.ErrInvalidSpec, in.File, maxSpecBytes))
	}
	spec, err := features.Parse(in.File, data)
	if err != nil {
		return CommitSpecResult{}, toTemporal(err)
	}
	if spec.Project != in.Project {
		return CommitSpecResult{}, toTemporal(fmt.Errorf("%w: %s: project is %q, not %q", features.ErrInvalidSpec, in.File, spec.Project, in.Project))
	}
	res := CommitSpecResult{SpecDigest: spec.Digest()}
	// This layout fixes spec version ids (cli/testdata/golden pins them).
	m := &lake.Manifest{
		Kind: lake.KindSpec, Name: spec.Project,
		Artifact: &lake.Artifact{Digest: in.Spec, Bytes: int64(len(data)), Files: 1, Framework: "granary-spec"},
		Params:   map[string]string{"file": in.File, "spec_digest": res.SpecDigest},
	}
	if res.Version, res.Created, err = l.CommitManifest(ctx, m); err != nil {
		return CommitSpecResult{}, toTemporal(err)
	}
	return res, nil
}
