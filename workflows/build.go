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

// BuildWorkflowName is the registered name of BuildTrainingData.
const BuildWorkflowName = "BuildTrainingData"

// BuildInput is a fully pinned training-set build: the spec version, the
// spine version and one version per feature view. The pins are what make
// a build reproducible; they are recorded in the manifest's inputs.
type BuildInput struct {
	Project      string            `json:"project"`
	SpecVersion  string            `json:"spec_version"`
	Set          string            `json:"set"`
	SpineVersion string            `json:"spine_version"`
	ViewVersions map[string]string `json:"view_versions"`
	User         string            `json:"user,omitempty"`
	Host         string            `json:"host,omitempty"`
}

// BuildResult describes the committed training set version.
type BuildResult struct {
	Set     string           `json:"set"`
	Dataset string           `json:"dataset"`
	Version string           `json:"version"`
	Rows    int64            `json:"rows"`
	Splits  map[string]int64 `json:"splits"`
	Files   int              `json:"files"`
	Bytes   int64            `json:"bytes"`
	Created bool             `json:"created"`
	Inputs  []lake.Input     `json:"inputs"`
	Moves   []lake.RefMove   `json:"moves,omitempty"`
}

// BuildProgress answers ProgressQuery.
type BuildProgress struct {
	Phase      string `json:"phase"`
	SpineRows  int64  `json:"spine_rows"`
	Views      int    `json:"views"`
	Partitions int    `json:"partitions"`
	PartsDone  int    `json:"partitions_done"`
	Shards     int    `json:"shards"`
	ShardsDone int    `json:"shards_done"`
	RowsJoined int64  `json:"rows_joined"`
}

// BuildID is build/<set>/<digest of the pins>: the same pins always give
// the same id, so a second launch attaches to the first.
func BuildID(in BuildInput) string {
	b, _ := json.Marshal(struct {
		Project, SpecVersion, Set, SpineVersion string
		ViewVersions                            map[string]string
	}{in.Project, in.SpecVersion, in.Set, in.SpineVersion, in.ViewVersions})
	sum := sha256.Sum256(b)
	return fmt.Sprintf("build/%s/%s", in.Set, hex.EncodeToString(sum[:])[:16])
}

// BuildTrainingData builds a training set: plan against the pins, then
// for every feature view partition the spine with the view's hash and
// shard count (one activity per spine file), join shard by shard with an
// exact point-in-time sort-merge (one activity per shard), put the rows
// back in spine order with their split, and commit.
func BuildTrainingData(ctx workflow.Context, in BuildInput) (BuildResult, error) {
	res := BuildResult{Set: in.Set}
	if err := tagRun(ctx, "build", in.Set); err != nil {
		return res, err
	}
	progress := BuildProgress{Phase: "planning"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (BuildProgress, error) { return progress, nil }); err != nil {
		return res, err
	}
	var a *activities.Activities
	var plan activities.BuildPlan
	if err := workflow.ExecuteActivity(shortIO(ctx), a.PlanBuild, activities.PlanBuildInput{
		Project: in.Project, SpecVersion: in.SpecVersion, Set: in.Set, SpineVersion: in.SpineVersion, ViewVersions: in.ViewVersions,
	}).Get(ctx, &plan); err != nil {
		return res, err
	}
	res.Dataset, res.Inputs = plan.Dataset, plan.Inputs
	progress.SpineRows, progress.Views = plan.SpineRows, len(plan.Views)

	// Partition the spine once per view (views may key on different
	// entities and have different shard counts).
	slim := plan.Slim()
	progress.Phase = "partitioning spine"
	type job struct{ view, file int }
	var jobs []job
	for vi := range plan.Views {
		for fi := range plan.SpineFiles {
			jobs = append(jobs, job{vi, fi})
		}
	}
	progress.Partitions = len(jobs)
	spineParts := make([][][]lake.File, len(plan.Views)) // view -> shard -> parts in file order
	for vi, v := range plan.Views {
		spineParts[vi] = make([][]lake.File, v.Shards)
	}
	if err := forEach(ctx, len(jobs), func(i int) workflow.Future {
		return workflow.ExecuteActivity(longIO(ctx), a.PartitionSpine, activities.PartitionSpineInput{Plan: slim, View: jobs[i].view, File: plan.SpineFiles[jobs[i].file], FileIndex: jobs[i].file})
	}, func(i int, f workflow.Future) error {
		var r activities.PartitionResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		vi := jobs[i].view
		for _, part := range r.Parts {
			s, ok := activities.ShardIndex(part.Partition)
			if !ok || s >= len(spineParts[vi]) {
				return fmt.Errorf("spine partition returned unknown shard %q", part.Partition)
			}
			spineParts[vi][s] = append(spineParts[vi][s], part)
		}
		progress.PartsDone++
		return nil
	}); err != nil {
		return res, err
	}

	progress.Phase = "joining"
	type shardJob struct{ view, shard int }
	var shardJobs []shardJob
	for vi := range plan.Views {
		for s, parts := range spineParts[vi] {
			if len(parts) > 0 {
				shardJobs = append(shardJobs, shardJob{vi, s})
			}
		}
	}
	progress.Shards = len(shardJobs)
	joined := make([][]lake.File, len(plan.Views))
	if err := forEach(ctx, len(shardJobs), func(i int) workflow.Future {
		j := shardJobs[i]
		return workflow.ExecuteActivity(longIO(ctx), a.JoinShard, activities.JoinShardInput{
			Plan: slim, View: j.view, Shard: j.shard, SpineParts: spineParts[j.view][j.shard], ViewFiles: shardFiles(plan.Views[j.view], j.shard),
		})
	}, func(i int, f workflow.Future) error {
		var r activities.JoinShardResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		joined[shardJobs[i].view] = append(joined[shardJobs[i].view], r.File)
		progress.ShardsDone++
		progress.RowsJoined += r.File.Rows
		return nil
	}); err != nil {
		return res, err
	}

	progress.Phase = "assembling"
	var assembled activities.AssembleResult
	if err := workflow.ExecuteActivity(longIO(ctx), a.Assemble, activities.AssembleInput{Plan: plan, Joined: joined}).Get(ctx, &assembled); err != nil {
		return res, err
	}
	res.Splits = assembled.Rows

	committed, moves, err := publish(ctx, activities.CommitVersionInput{
		Kind: lake.KindDataset, Name: plan.Dataset, Schema: plan.Schema, Files: assembled.Files,
		Inputs: plan.Inputs, Params: plan.Params, User: in.User, Host: in.Host,
	}, []string{"latest"}, "build "+in.Set, func(p string) { progress.Phase = p })
	if err != nil {
		return res, err
	}
	res.Version, res.Rows, res.Bytes, res.Files, res.Created, res.Moves = committed.Version, committed.Rows, committed.Bytes, len(assembled.Files), committed.Created, moves
	return res, nil
}

// shardFiles picks a view's files of one shard.
func shardFiles(v activities.BuildView, shard int) []lake.File {
	name := activities.ShardName(shard)
	var out []lake.File
	for _, f := range v.Files {
		if f.Partition == name {
			out = append(out, f)
		}
	}
	return out
}
