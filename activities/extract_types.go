package activities

import (
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// PlanExtractInput names what to extract: a view of an applied spec
// version, over a pinned source version.
type PlanExtractInput struct {
	Project       string `json:"project"`
	SpecVersion   string `json:"spec_version"`
	View          string `json:"view"`
	SourceVersion string `json:"source_version"`
	Shards        int    `json:"shards"`
}

// ExtractPlan is everything the partition and sort steps need; it is
// small (file references, column names), never data.
type ExtractPlan struct {
	View          string         `json:"view"`
	Dataset       string         `json:"dataset"` // output dataset, ViewDataset(View)
	SourceDataset string         `json:"source_dataset"`
	SourceVersion string         `json:"source_version"`
	SourceFiles   []lake.File    `json:"source_files"`
	SourceRows    int64          `json:"source_rows"`
	Columns       []string       `json:"columns"`
	KeyCols       []int          `json:"key_cols"`
	TimeCol       int            `json:"time_col"`
	Filter        string         `json:"filter,omitempty"`
	Schema        tabular.Schema `json:"schema"` // output schema
	Shards        int            `json:"shards"`
	// Params are the extraction's content-determining settings; they go
	// into the manifest, so the version id changes exactly when they do.
	Params map[string]string `json:"params"`
}

// PartitionInput is one source file of a plan to split into shard parts.
// Plan is the plan without its file list (Slim): activity inputs are
// stored in the workflow history once per activity, so they must stay
// small however many files a source has.
type PartitionInput struct {
	Plan      ExtractPlan `json:"plan"`
	File      lake.File   `json:"file"`
	FileIndex int         `json:"file_index"`
}

// Slim returns the plan without its per-file lists, for activity inputs.
func (p ExtractPlan) Slim() ExtractPlan {
	p.SourceFiles = nil
	return p
}

// PartitionResult lists the part blobs written (Partition = shard name).
type PartitionResult struct {
	Parts []lake.File          `json:"parts"`
	Stats shard.PartitionStats `json:"stats"`
}

// SortShardInput is one shard: its parts in source-file order.
type SortShardInput struct {
	Plan  ExtractPlan `json:"plan"`
	Shard int         `json:"shard"`
	Parts []lake.File `json:"parts"`
}

// SortShardResult is the shard's final, sorted file.
type SortShardResult struct {
	File lake.File `json:"file"`
}
