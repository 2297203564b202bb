package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
	"github.com/granaryml/granary/internal/tabular"
)

// MaterializeWorkflowName is the registered name of Materialize.
const MaterializeWorkflowName = "Materialize"

// MaterializeInput asks for a serving index of one view version, with the
// feature definitions of one applied spec version. Alias, when set, is
// moved to the new index besides "latest".
type MaterializeInput struct {
	Project     string `json:"project"`
	SpecVersion string `json:"spec_version"`
	View        string `json:"view"`
	ViewVersion string `json:"view_version"`
	// Definition is the digest of the view's definition in the spec
	// (features, ttl, entity), computed by the caller: it is in the
	// workflow id, so an edited feature re-materializes and an edit
	// elsewhere in the spec does not.
	Definition string `json:"definition"`
	Alias      string `json:"alias,omitempty"`
	User       string `json:"user,omitempty"`
	Host       string `json:"host,omitempty"`
}

// MaterializeResult describes the committed index version.
type MaterializeResult struct {
	View        string         `json:"view"`
	Version     string         `json:"version"`
	ViewVersion string         `json:"view_version"`
	AsOf        string         `json:"as_of"`
	Entities    int64          `json:"entities"`
	Features    int            `json:"features"`
	Shards      int            `json:"shards"`
	Bytes       int64          `json:"bytes"`
	Created     bool           `json:"created"`
	Moves       []lake.RefMove `json:"moves,omitempty"`
	Notified    []string       `json:"notified,omitempty"`
}

// MaterializeProgress answers ProgressQuery.
type MaterializeProgress struct {
	Phase      string `json:"phase"`
	Shards     int    `json:"shards"`
	ShardsDone int    `json:"shards_done"`
	Entities   int64  `json:"entities"`
}

// MaterializeID is materialize/<view>/<view version>-<definition digest>,
// plus /<alias> when one is asked for: one run per view version, feature
// definition and alias, and a second launch attaches to the first. (A run
// for another alias recomputes the same content-addressed files, commits
// the same version and moves its alias.)
func MaterializeID(in MaterializeInput) string {
	id := fmt.Sprintf("materialize/%s/%s-%s", in.View, lake.ShortID(in.ViewVersion), in.Definition)
	if in.Alias != "" && in.Alias != "latest" {
		id += "/" + in.Alias
	}
	return id
}

// ViewDefinition digests what of a spec determines a view's served
// values (its features and ttl, the entity's keys, the source's time
// column) and the index file format; callers put it in
// MaterializeInput.Definition, so a new format is a new materialization.
func ViewDefinition(view *features.FeatureView, ent *features.Entity, src *features.Source) string {
	b, _ := json.Marshal(struct {
		View      any
		Keys      []string
		Timestamp string
		Format    int `json:",omitempty"`
	}{view, ent.JoinKeys, src.Timestamp, online.FormatVersion})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// Materialize computes every entity's latest feature values (as of the
// view version's newest event, with windows and ttl as in builds) shard by
// shard into online index files, commits them as a serving index version,
// moves "latest" (and Alias), and tells serving to swap at once.
func Materialize(ctx workflow.Context, in MaterializeInput) (MaterializeResult, error) {
	res := MaterializeResult{View: in.View, ViewVersion: in.ViewVersion}
	if err := tagRun(ctx, "materialize", in.View); err != nil {
		return res, err
	}
	progress := MaterializeProgress{Phase: "planning"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (MaterializeProgress, error) { return progress, nil }); err != nil {
		return res, err
	}
	var a *activities.Activities
	var plan activities.MaterializePlan
	if err := workflow.ExecuteActivity(shortIO(ctx), a.PlanMaterialize, activities.PlanMaterializeInput{
		Project: in.Project, SpecVersion: in.SpecVersion, View: in.View, ViewVersion: in.ViewVersion,
	}).Get(ctx, &plan); err != nil {
		return res, err
	}
	res.AsOf, res.Features, res.Shards = plan.Params["as_of"], len(plan.Outputs), plan.Shards
	progress.Phase, progress.Shards = "materializing", plan.Shards

	byShard := make([][]lake.File, plan.Shards)
	for _, f := range plan.Files {
		s, ok := activities.ShardIndex(f.Partition)
		if !ok || s >= plan.Shards {
			return res, fmt.Errorf("view %s@%s: file of unknown shard %q", plan.View, lake.ShortID(plan.ViewVersion), f.Partition)
		}
		byShard[s] = append(byShard[s], f)
	}
	slim := plan.Slim()
	files := make([]lake.File, plan.Shards)
	if err := forEach(ctx, plan.Shards, func(i int) workflow.Future {
		return workflow.ExecuteActivity(longIO(ctx), a.MaterializeShard, activities.MaterializeShardInput{Plan: slim, Shard: i, Files: byShard[i]})
	}, func(i int, f workflow.Future) error {
		var r activities.MaterializeShardResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		files[i] = r.File
		progress.ShardsDone++
		progress.Entities += r.Entities
		return nil
	}); err != nil {
		return res, err
	}

	refs := []string{"latest"}
	if in.Alias != "" && in.Alias != "latest" {
		refs = append(refs, in.Alias)
	}
	schema := plan.Schema
	schema.Columns = append(append(schema.Columns[:0:0], plan.Keys...), plan.Outputs...)
	committed, moves, err := publish(ctx, activities.CommitVersionInput{
		Kind: lake.KindIndex, Name: plan.View, // a serving index is named after its view
		Schema: schema, Files: files,
		Stats: noStats, Inputs: plan.Inputs, Params: plan.Params, User: in.User, Host: in.Host,
	}, refs, "materialize "+in.View, func(p string) { progress.Phase = p })
	if err != nil {
		return res, err
	}
	res.Version, res.Entities, res.Bytes, res.Created, res.Moves = committed.Version, committed.Rows, committed.Bytes, committed.Created, moves

	// Serving also polls the refs; a failed push only delays the swap, so
	// it is reported, not fatal.
	progress.Phase = "notifying serving"
	var notified activities.NotifyResult
	notifyCtx := workflow.WithActivityOptions(ctx, notifyOptions)
	if err := workflow.ExecuteActivity(notifyCtx, a.NotifyServing, activities.NotifyInput{View: in.View, Alias: refs[len(refs)-1], Version: committed.Version}).Get(ctx, &notified); err != nil {
		workflow.GetLogger(ctx).Warn("serving not notified; it picks the new index up at its next poll", "err", err)
	}
	res.Notified = notified.Notified
	progress.Phase = "done"
	return res, nil
}

// noStats skips publish's statistics pass: index files are not parquet,
// and the view version they come from has its statistics already.
var noStats = []tabular.ColumnStats{}
