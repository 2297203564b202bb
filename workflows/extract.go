package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
)

// ExtractWorkflowName is the registered name of ExtractFeatures.
const ExtractWorkflowName = "ExtractFeatures"

// ExtractInput asks for one feature view of an applied spec version over
// a pinned source version. Params are the view's content-determining
// settings (see activities.ExtractPlan.Params), computed by the caller so
// the workflow id can be derived from them.
type ExtractInput struct {
	Project       string            `json:"project"`
	SpecVersion   string            `json:"spec_version"`
	View          string            `json:"view"`
	SourceVersion string            `json:"source_version"`
	Shards        int               `json:"shards"`
	Params        map[string]string `json:"params"`
	User          string            `json:"user,omitempty"`
	Host          string            `json:"host,omitempty"`
}

// ExtractResult describes the committed feature view version.
type ExtractResult struct {
	View          string         `json:"view"`
	Dataset       string         `json:"dataset"`
	Version       string         `json:"version"`
	SourceDataset string         `json:"source_dataset"`
	SourceVersion string         `json:"source_version"`
	RowsIn        int64          `json:"rows_in"`
	Rows          int64          `json:"rows"`
	DroppedNulls  int64          `json:"dropped_nulls"`
	Filtered      int64          `json:"filtered"`
	Shards        int            `json:"shards"`
	Files         int            `json:"files"`
	Bytes         int64          `json:"bytes"`
	Created       bool           `json:"created"`
	Moves         []lake.RefMove `json:"moves,omitempty"`
}

// ExtractProgress answers ProgressQuery.
type ExtractProgress struct {
	Phase      string `json:"phase"`
	Files      int    `json:"files"`
	FilesDone  int    `json:"files_done"`
	Shards     int    `json:"shards"`
	ShardsDone int    `json:"shards_done"`
	SourceRows int64  `json:"source_rows"`
	RowsIn     int64  `json:"rows_in"`
	RowsOut    int64  `json:"rows_out"`
}

// ExtractID is extract/<view>/<digest of what determines the output>: the
// view's extraction settings, the source version and the shard count. An
// edit elsewhere in the spec does not change it, so unchanged views are
// not re-extracted.
func ExtractID(in ExtractInput) string {
	b, _ := json.Marshal(struct {
		View          string
		SourceVersion string
		Shards        int
		Params        map[string]string
	}{in.View, in.SourceVersion, in.Shards, in.Params})
	sum := sha256.Sum256(b)
	return fmt.Sprintf("extract/%s/%s", in.View, hex.EncodeToString(sum[:])[:16])
}

// ExtractFeatures extracts a feature view: plan (resolve the spec, check it
// against the source schema), partition every source file by join-key
// hash (one activity per file), sort every shard by (keys, time) (one
// activity per shard), compute statistics, commit the view's dataset
// version and move its latest ref. Activities heartbeat progress and are
// idempotent (blobs are content-addressed), so a worker dying mid-way
// costs only the interrupted activity.
func ExtractFeatures(ctx workflow.Context, in ExtractInput) (ExtractResult, error) {
	res := ExtractResult{View: in.View}
	if err := tagRun(ctx, "extract", in.View); err != nil {
		return res, err
	}
	progress := ExtractProgress{Phase: "planning", Shards: in.Shards}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ExtractProgress, error) { return progress, nil }); err != nil {
		return res, err
	}
	var a *activities.Activities
	var plan activities.ExtractPlan
	if err := workflow.ExecuteActivity(shortIO(ctx), a.PlanExtract, activities.PlanExtractInput{
		Project: in.Project, SpecVersion: in.SpecVersion, View: in.View, SourceVersion: in.SourceVersion, Shards: in.Shards,
	}).Get(ctx, &plan); err != nil {
		return res, err
	}
	res.Dataset, res.SourceDataset, res.SourceVersion, res.Shards = plan.Dataset, plan.SourceDataset, plan.SourceVersion, plan.Shards
	progress.Files, progress.SourceRows = len(plan.SourceFiles), plan.SourceRows

	slim := plan.Slim()
	progress.Phase = "partitioning"
	byShard := make([][]lake.File, plan.Shards)
	if err := forEach(ctx, len(plan.SourceFiles), func(i int) workflow.Future {
		return workflow.ExecuteActivity(longIO(ctx), a.PartitionSourceFile, activities.PartitionInput{Plan: slim, File: plan.SourceFiles[i], FileIndex: i})
	}, func(i int, f workflow.Future) error {
		var r activities.PartitionResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		// forEach hands results over in file order, so each shard's parts
		// stay in source order and the stable sort keeps ties in it.
		for _, part := range r.Parts {
			s, ok := activities.ShardIndex(part.Partition)
			if !ok || s >= plan.Shards {
				return fmt.Errorf("partition returned unknown shard %q", part.Partition)
			}
			byShard[s] = append(byShard[s], part)
		}
		progress.FilesDone++
		progress.RowsIn += r.Stats.RowsIn
		progress.RowsOut += r.Stats.RowsOut
		res.DroppedNulls += r.Stats.DroppedNulls
		res.Filtered += r.Stats.Filtered
		return nil
	}); err != nil {
		return res, err
	}
	res.RowsIn = progress.RowsIn

	progress.Phase = "sorting"
	var nonEmpty []int
	for s, parts := range byShard {
		if len(parts) > 0 {
			nonEmpty = append(nonEmpty, s)
		}
	}
	files := make([]lake.File, len(nonEmpty))
	if err := forEach(ctx, len(nonEmpty), func(i int) workflow.Future {
		s := nonEmpty[i]
		return workflow.ExecuteActivity(longIO(ctx), a.SortShard, activities.SortShardInput{Plan: slim, Shard: s, Parts: byShard[s]})
	}, func(i int, f workflow.Future) error {
		var r activities.SortShardResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		files[i] = r.File
		progress.ShardsDone++
		return nil
	}); err != nil {
		return res, err
	}
	progress.ShardsDone = plan.Shards // empty shards are done by definition

	committed, moves, err := publish(ctx, activities.CommitVersionInput{
		Kind: lake.KindDataset, Name: plan.Dataset, Schema: plan.Schema, Files: files,
		Inputs: []lake.Input{{Role: "source", Kind: lake.KindDataset, Name: plan.SourceDataset, Version: plan.SourceVersion}},
		Params: plan.Params, User: in.User, Host: in.Host,
	}, []string{"latest"}, "extract "+in.View, func(p string) { progress.Phase = p })
	if err != nil {
		return res, err
	}
	res.Version, res.Rows, res.Bytes, res.Files, res.Created, res.Moves = committed.Version, committed.Rows, committed.Bytes, len(files), committed.Created, moves
	return res, nil
}
