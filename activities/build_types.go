package activities

import (
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
)

// PlanBuildInput pins everything a training-set build reads.
type PlanBuildInput struct {
	Project      string            `json:"project"`
	SpecVersion  string            `json:"spec_version"`
	Set          string            `json:"set"`
	SpineVersion string            `json:"spine_version"`
	ViewVersions map[string]string `json:"view_versions"` // view -> view dataset version
}

// BuildView is one feature view's part of a build plan.
type BuildView struct {
	View      string             `json:"view"`
	Dataset   string             `json:"dataset"`
	Version   string             `json:"version"`
	Shards    int                `json:"shards"`
	Files     []lake.File        `json:"files"` // Partition = shard name
	Schema    tabular.Schema     `json:"schema"`
	KeyCols   []int              `json:"key_cols"`
	TimeCol   int                `json:"time_col"`
	SpineKeys []string           `json:"spine_keys"` // entity join keys, as spine columns
	Features  []features.Feature `json:"features"`
	TTL       time.Duration      `json:"ttl,omitempty"`
	Selected  []string           `json:"selected"`
	Outputs   []tabular.Column   `json:"outputs"` // <view>__<feature>, in Selected order
}

// BuildPlan is the fully pinned build: inputs, per-view settings and the
// output schema. File references only, never data.
type BuildPlan struct {
	Set          string            `json:"set"`
	Dataset      string            `json:"dataset"`
	SpineDataset string            `json:"spine_dataset"`
	SpineVersion string            `json:"spine_version"`
	SpineFiles   []lake.File       `json:"spine_files"`
	SpineSchema  tabular.Schema    `json:"spine_schema"`
	SpineTime    string            `json:"spine_time"`
	SpineRows    int64             `json:"spine_rows"`
	Views        []BuildView       `json:"views"`
	Split        *features.Split   `json:"split,omitempty"`
	Schema       tabular.Schema    `json:"schema"`
	Inputs       []lake.Input      `json:"inputs"`
	Params       map[string]string `json:"params"`
}

// PartitionSpineInput splits one spine file by one view's keys. Plan is
// Slim: no file lists, so history stays small.
type PartitionSpineInput struct {
	Plan      BuildPlan `json:"plan"`
	View      int       `json:"view"`
	File      lake.File `json:"file"`
	FileIndex int       `json:"file_index"`
}

// Slim returns the plan without its file lists (spine files, view shard
// files), for activity inputs.
func (p BuildPlan) Slim() BuildPlan {
	p.SpineFiles = nil
	views := make([]BuildView, len(p.Views))
	for i, v := range p.Views {
		v.Files = nil
		views[i] = v
	}
	p.Views = views
	return p
}

// JoinShardInput joins one shard of one view onto its spine rows.
type JoinShardInput struct {
	Plan       BuildPlan   `json:"plan"` // Slim
	View       int         `json:"view"`
	Shard      int         `json:"shard"`
	SpineParts []lake.File `json:"spine_parts"`
	ViewFiles  []lake.File `json:"view_files"` // the view's files of this shard
}

// JoinShardResult is the joined features of the shard's spine rows,
// sorted by spine row id.
type JoinShardResult struct {
	File lake.File `json:"file"`
}

// AssembleInput is every view's joined parts, to be put back in spine
// order and split.
type AssembleInput struct {
	Plan   BuildPlan     `json:"plan"`
	Joined [][]lake.File `json:"joined"` // per view, per non-empty shard
}

// AssembleResult lists the training set's files (Partition = split).
type AssembleResult struct {
	Files []lake.File      `json:"files"`
	Rows  map[string]int64 `json:"rows"` // per split
}
