package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
)

// CommitDatasetWorkflowName is the registered name of CommitDataset.
const CommitDatasetWorkflowName = "CommitDataset"

// ProgressQuery is the query every long granary workflow answers.
const ProgressQuery = "progress"

// CommitDatasetInput is an import request. Only content-determining fields
// go into the workflow id; who asked is provenance.
type CommitDatasetInput struct {
	Name    string              `json:"name"`
	Sources []activities.Source `json:"sources"`
	Format  tabular.Format      `json:"format,omitempty"`
	Schema  *tabular.Schema     `json:"schema,omitempty"`
	Tags    []string            `json:"tags,omitempty"`
	User    string              `json:"user,omitempty"`
	Host    string              `json:"host,omitempty"`
}

// CommitDatasetResult is what an import produced.
type CommitDatasetResult struct {
	Name    string         `json:"name"`
	Version string         `json:"version"`
	Rows    int64          `json:"rows"`
	Bytes   int64          `json:"bytes"`
	Files   int            `json:"files"`
	Created bool           `json:"created"`
	Moves   []lake.RefMove `json:"moves,omitempty"`
}

// ImportProgress is the answer to ProgressQuery.
type ImportProgress struct {
	Phase     string `json:"phase"`
	Files     int    `json:"files"`
	FilesDone int    `json:"files_done"`
	Rows      int64  `json:"rows"`
}

// CommitDatasetID is the deterministic workflow id of an import: the same
// name, bytes, options and tags always map to the same id, so launching an
// identical import again attaches to the first instead of redoing it.
func CommitDatasetID(in CommitDatasetInput) string {
	in.User, in.Host = "", "" // who asks does not change what is built
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("dataset/%s/%s", in.Name, hex.EncodeToString(sum[:])[:16])
}

// CommitDataset imports raw files as a new dataset version: stage, infer
// or apply the schema, convert every source to canonical parquet (in
// parallel, resumable), compute statistics, commit the manifest, then move
// refs by compare-and-swap. Each step is idempotent, so a retry or a reset
// to any point never commits twice or leaves a half-visible version.
func CommitDataset(ctx workflow.Context, in CommitDatasetInput) (CommitDatasetResult, error) {
	res := CommitDatasetResult{Name: in.Name}
	if err := tagRun(ctx, "dataset", in.Name); err != nil {
		return res, err
	}
	progress := ImportProgress{Phase: "staging", Files: len(in.Sources)}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ImportProgress, error) { return progress, nil }); err != nil {
		return res, err
	}
	if err := validateImport(in); err != nil {
		return res, err
	}
	var a *activities.Activities

	sources, err := stageSources(ctx, in.Sources)
	if err != nil {
		return res, err
	}

	progress.Phase = "schema"
	var schema tabular.Schema
	// A one-file import without a schema infers it while converting (one
	// read of the input instead of two); runs started before this change
	// keep the separate inference step.
	onePass := in.Schema == nil && len(sources) == 1 &&
		workflow.GetVersion(ctx, "one-pass-import", workflow.DefaultVersion, 1) >= 1
	if in.Schema != nil {
		schema = *in.Schema
	} else if !onePass {
		inferred := make([]activities.InferSchemaResult, len(sources))
		if err := forEach(ctx, len(sources), func(i int) workflow.Future {
			return workflow.ExecuteActivity(longIO(ctx), a.InferSchema, activities.InferSchemaInput{Source: sources[i], Format: in.Format})
		}, func(i int, f workflow.Future) error { return f.Get(ctx, &inferred[i]) }); err != nil {
			return res, err
		}
		if schema, err = mergeSchemas(sources, inferred); err != nil {
			return res, err
		}
	}

	progress.Phase = "converting"
	files := make([]lake.File, len(sources))
	formats := make([]tabular.Format, len(sources))
	fileStats := make([][]tabular.ColumnStats, len(sources))
	if err := forEach(ctx, len(sources), func(i int) workflow.Future {
		return workflow.ExecuteActivity(longIO(ctx), a.ConvertSource, activities.ConvertSourceInput{Dataset: in.Name, Source: sources[i], Format: in.Format, Schema: schema})
	}, func(i int, f workflow.Future) error {
		var r activities.ConvertSourceResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		files[i] = r.File
		formats[i] = r.Format
		fileStats[i] = r.Stats
		if onePass {
			schema = r.Schema
		}
		progress.FilesDone++
		progress.Rows += r.File.Rows
		return nil
	}); err != nil {
		return res, err
	}

	provSources := make([]lake.SourceFile, len(sources))
	for i, s := range sources {
		provSources[i] = lake.SourceFile{Name: s.Name, Digest: s.Digest, Bytes: s.Bytes, Format: string(formats[i])}
	}
	commit := activities.CommitVersionInput{
		Kind: lake.KindDataset, Name: in.Name, Schema: schema, Files: files,
		Sources: provSources, User: in.User, Host: in.Host,
	}
	// A one-file import already has its statistics from the conversion;
	// runs started before this change still take the separate pass.
	if v := workflow.GetVersion(ctx, "stats-from-conversion", workflow.DefaultVersion, 1); v >= 1 && len(files) == 1 && fileStats[0] != nil {
		commit.Stats = fileStats[0]
	}
	committed, moves, err := publish(ctx, commit, append([]string{"latest"}, in.Tags...), "import", func(p string) { progress.Phase = p })
	if err != nil {
		return res, err
	}
	res.Version, res.Rows, res.Bytes, res.Files, res.Created, res.Moves = committed.Version, committed.Rows, committed.Bytes, len(files), committed.Created, moves
	return res, nil
}

func validateImport(in CommitDatasetInput) error {
	bad := func(err error) error {
		return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeInvalidInput, nil)
	}
	if err := lake.ValidateName("dataset", in.Name); err != nil {
		return bad(err)
	}
	for _, t := range in.Tags {
		if err := lake.ValidateName("tag", t); err != nil {
			return bad(err)
		}
	}
	if len(in.Sources) == 0 {
		return bad(fmt.Errorf("import of %s has no input files", in.Name))
	}
	if in.Schema != nil {
		if err := in.Schema.Validate(); err != nil {
			return bad(fmt.Errorf("schema: %w", err))
		}
	}
	return nil
}

func stageSources(ctx workflow.Context, in []activities.Source) ([]activities.Source, error) {
	out := append([]activities.Source(nil), in...)
	var a *activities.Activities
	err := forEach(ctx, len(out), func(i int) workflow.Future {
		if out[i].Digest != "" {
			return nil
		}
		return workflow.ExecuteActivity(longIO(ctx), a.StageSource, activities.StageSourceInput{Source: out[i]})
	}, func(i int, f workflow.Future) error {
		var r activities.StageSourceResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		out[i] = r.Source
		return nil
	})
	return out, err
}

// maxParallelActivities bounds fan-out per workflow so one huge import
// cannot monopolize every worker slot.
const maxParallelActivities = 8

// forEach starts start(i) for every i with at most maxParallelActivities in
// flight, and hands each future to done in index order. A nil future
// means "nothing to do for i".
func forEach(ctx workflow.Context, n int, start func(i int) workflow.Future, done func(i int, f workflow.Future) error) error {
	futures := make([]workflow.Future, n)
	next := 0
	for i := 0; i < n; i++ {
		for next < n && next-i < maxParallelActivities {
			futures[next] = start(next)
			next++
		}
		if futures[i] == nil {
			continue
		}
		if err := done(i, futures[i]); err != nil {
			return err
		}
	}
	return nil
}

// longIO is for activities that stream whole files: they heartbeat every
// few seconds, so a dead worker is noticed within HeartbeatTimeout and the
// retry runs elsewhere.
func longIO(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: lake.LongestActivity, // gc's minimum grace is derived from it
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    20,
		},
	})
}
