package activities

import (
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
)

// Source is one raw input of an import, already content-addressed in the
// lake (the CLI uploads local files before starting the workflow; remote
// URLs are staged by StageSource).
type Source struct {
	Name   string      `json:"name"`             // what the user called it, for messages
	Digest lake.Digest `json:"digest,omitempty"` // raw blob, once staged
	Bytes  int64       `json:"bytes,omitempty"`
	URL    string      `json:"url,omitempty"` // lake:KEY or s3://… object to stage
	// ETag (with Bytes) is the remote object the CLI resolved URL to
	// before starting: it is part of the workflow id, so an overwritten
	// object is a new import, and staging refuses any other object.
	ETag string `json:"etag,omitempty"`
}

// StageSourceInput copies a remote object into the lake as a raw blob.
type StageSourceInput struct {
	Source Source
}

// StageSourceResult is the staged source.
type StageSourceResult struct {
	Source Source
}

// InferSchemaInput asks for the schema of one raw source.
type InferSchemaInput struct {
	Source Source
	Format tabular.Format // "" or "auto" detects
}

// InferSchemaResult is the detected format and inferred schema, with the
// inference state it came from so that several sources merge as one.
type InferSchemaResult struct {
	Format tabular.Format
	Schema tabular.Schema
	// Inference is nil in results recorded by releases before it existed.
	Inference *tabular.Inference `json:",omitempty"`
}

// ConvertSourceInput converts one raw source to canonical parquet.
type ConvertSourceInput struct {
	Dataset string
	Source  Source
	Format  tabular.Format
	// Schema of the output; with no columns the conversion infers it in
	// the same pass (see ConvertSource) and returns it.
	Schema tabular.Schema
}

// ConvertSourceResult names the parquet blob written for the source.
type ConvertSourceResult struct {
	File   lake.File
	Format tabular.Format // as detected when the input said "auto"
	// Reused is true when an earlier run had converted the same bytes with
	// the same schema, so nothing was parsed or uploaded.
	Reused bool
	// Stats are the file's column statistics, computed while converting
	// (identical to reading the parquet back), so a one-file import needs
	// no second pass.
	Stats []tabular.ColumnStats
	// Schema is the schema written: the input's, or the inferred one.
	Schema tabular.Schema
	// Speculation says how an inferred schema was found: "prefix" (the
	// first rows' schema held for the whole input), "fallback" (it did
	// not, the input was read again in full) or "" (no inference here).
	Speculation string `json:",omitempty"`
}

// ComputeStatsInput asks for column statistics over a version's files.
type ComputeStatsInput struct {
	Schema tabular.Schema
	Files  []lake.File
}

// ComputeStatsResult carries the statistics (small: a few KB per column).
type ComputeStatsResult struct {
	Stats []tabular.ColumnStats
}

// CommitVersionInput is everything a manifest and its provenance hold.
type CommitVersionInput struct {
	Kind     lake.Kind
	Name     string
	Schema   tabular.Schema
	Files    []lake.File
	Stats    []tabular.ColumnStats
	Inputs   []lake.Input
	Params   map[string]string
	Sources  []lake.SourceFile
	User     string
	Host     string
	Workflow string
	RunID    string
}

// CommitVersionResult is the committed version.
type CommitVersionResult struct {
	Version string
	Created bool // false when an identical version already existed
	Rows    int64
	Bytes   int64
}

// MoveRefsInput moves several refs of one name to a version.
type MoveRefsInput struct {
	Kind    lake.Kind
	Name    string
	Version string
	Refs    []string
	// Expect/ExpectAbsent: see lake.MoveOptions; empty moves from anywhere.
	Expect       string `json:",omitempty"`
	ExpectAbsent bool   `json:",omitempty"`
	By           string
	Reason       string
	Workflow     string
}

// MoveRefsResult lists the moves made (or found already made).
type MoveRefsResult struct {
	Moves []lake.RefMove
}
