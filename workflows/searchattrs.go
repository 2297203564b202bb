// Package workflows holds granary's deterministic orchestration: workflow
// functions, their ids, queries and signals. No I/O happens here; every
// side effect is an activity from package activities.
package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Custom search attributes let operators filter granary runs in the
// Temporal UI (GranaryKind="extract" AND ExecutionStatus="Failed"). They
// must be registered on the server: `granary dev` does it, and on a real
// cluster `temporal operator search-attribute create` (see docs/operations.md).
var (
	AttrKind    = temporal.NewSearchAttributeKeyKeyword("GranaryKind")
	AttrName    = temporal.NewSearchAttributeKeyKeyword("GranaryName")
	AttrVersion = temporal.NewSearchAttributeKeyKeyword("GranaryVersion")
)

// SearchAttributeNames lists the attributes with their server-side type,
// in the form the dev server's --search-attribute flag takes.
func SearchAttributeNames() map[string]string {
	return map[string]string{
		AttrKind.GetName():    "Keyword",
		AttrName.GetName():    "Keyword",
		AttrVersion.GetName(): "Keyword",
	}
}

// tagRun upserts kind and name at the start of every granary workflow, so
// a run is findable even if it fails on its first step.
func tagRun(ctx workflow.Context, kind, name string) error {
	return workflow.UpsertTypedSearchAttributes(ctx, AttrKind.ValueSet(kind), AttrName.ValueSet(name))
}

// tagVersion records the version a run produced, once it exists.
func tagVersion(ctx workflow.Context, version string) error {
	return workflow.UpsertTypedSearchAttributes(ctx, AttrVersion.ValueSet(version))
}
