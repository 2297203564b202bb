package activities

import (
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
)

// PlanMaterializeInput names a view version to materialize with the
// feature definitions of an applied spec version.
type PlanMaterializeInput struct {
	Project     string `json:"project"`
	SpecVersion string `json:"spec_version"`
	View        string `json:"view"`
	ViewVersion string `json:"view_version"`
}

// MaterializePlan is everything the per-shard step needs. File lists are
// only in the full plan; activities get it Slim.
type MaterializePlan struct {
	View        string             `json:"view"`
	ViewVersion string             `json:"view_version"`
	Files       []lake.File        `json:"files"` // Partition = shard name
	Schema      tabular.Schema     `json:"schema"`
	KeyCols     []int              `json:"key_cols"`
	TimeCol     int                `json:"time_col"`
	Keys        []tabular.Column   `json:"keys"`
	Features    []features.Feature `json:"features"`
	TTL         time.Duration      `json:"ttl,omitempty"`
	Outputs     []tabular.Column   `json:"outputs"` // feature columns, spec order
	// AsOf is the newest event of the view version (microseconds): every
	// value is the feature at that time, as a training row at AsOf gets.
	AsOf   int64             `json:"as_of"`
	Shards int               `json:"shards"`
	Inputs []lake.Input      `json:"inputs"`
	Params map[string]string `json:"params"`
}

// Slim drops the file list.
func (p MaterializePlan) Slim() MaterializePlan {
	p.Files = nil
	return p
}

// MaterializeShardInput is one shard of the view version.
type MaterializeShardInput struct {
	Plan  MaterializePlan `json:"plan"` // Slim
	Shard int             `json:"shard"`
	Files []lake.File     `json:"files"`
}

// MaterializeShardResult is the shard's index file.
type MaterializeShardResult struct {
	File     lake.File `json:"file"`
	Entities int64     `json:"entities"`
}
