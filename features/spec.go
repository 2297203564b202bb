package features

import "time"

// Spec is a parsed feature spec: what a project's features are and how
// training sets are assembled from them. It is plain data (JSON tags in
// snake_case) so it travels in workflow payloads and lake manifests; the
// positions kept from parsing do not travel, so errors about a Spec decoded
// from JSON have no file position.
type Spec struct {
	Project      string        `json:"project"`
	Entities     []Entity      `json:"entities,omitempty"`
	Sources      []Source      `json:"sources,omitempty"`
	FeatureViews []FeatureView `json:"feature_views,omitempty"`
	TrainingSets []TrainingSet `json:"training_sets,omitempty"`
	// Models holds promotion policies (policy.go).
	Models []ModelPolicy `json:"models,omitempty"`

	// file and pos map field paths (feature_views[0].features[2].agg) to
	// where they were written, so Validate and Check can point at the YAML.
	file string
	pos  map[string]position
	// types holds each feature's output type per view once Check passed.
	types map[string]map[string]ColumnType
}

// Entity is what features describe (a user, a product); its join keys are
// the columns that identify one.
type Entity struct {
	Name     string   `json:"name"`
	JoinKeys []string `json:"join_keys"`
}

// Source is a lake dataset of timestamped events that features aggregate.
type Source struct {
	Name      string `json:"name"`
	Dataset   string `json:"dataset"`
	Timestamp string `json:"timestamp"`
	// Filter is an optional expr-lang predicate over the source's columns;
	// rows for which it is not true are ignored.
	Filter string `json:"filter,omitempty"`
}

// FeatureView is a group of features of one entity computed from one source.
type FeatureView struct {
	Name   string `json:"name"`
	Entity string `json:"entity"`
	Source string `json:"source"`
	// TTL, when set, makes a feature null when its newest contributing row
	// is older than TTL at lookup time.
	TTL      time.Duration `json:"ttl,omitempty"`
	Features []Feature     `json:"features"`
}

// Feature is either an aggregation (Agg, with Column and Window) or a
// derived feature (Expr over the view's other features), never both.
type Feature struct {
	Name   string `json:"name"`
	Agg    Agg    `json:"agg,omitempty"`
	Column string `json:"column,omitempty"`
	// Window 0 means unbounded: every row up to the lookup time.
	Window time.Duration `json:"window,omitempty"`
	Expr   string        `json:"expr,omitempty"`
}

// Derived reports whether f is computed from other features by Expr.
func (f *Feature) Derived() bool { return f.Expr != "" }

// Agg names an aggregation function.
type Agg string

// The aggregations; see the package documentation for their semantics.
const (
	Count         Agg = "count"
	Sum           Agg = "sum"
	Mean          Agg = "mean"
	Min           Agg = "min"
	Max           Agg = "max"
	First         Agg = "first"
	Last          Agg = "last"
	CountDistinct Agg = "count_distinct"
)

// Aggs lists every aggregation in documentation order.
func Aggs() []Agg {
	return []Agg{Count, Sum, Mean, Min, Max, First, Last, CountDistinct}
}

// Valid reports whether a is a known aggregation.
func (a Agg) Valid() bool {
	switch a {
	case Count, Sum, Mean, Min, Max, First, Last, CountDistinct:
		return true
	}
	return false
}

// TrainingSet joins features point-in-time correctly onto a spine: a
// dataset of (join keys, timestamp, labels...) rows.
type TrainingSet struct {
	Name     string       `json:"name"`
	Spine    Spine        `json:"spine"`
	Features []FeatureRef `json:"features"`
	Split    *Split       `json:"split,omitempty"`
}

// Spine names the dataset whose rows become training examples.
type Spine struct {
	Dataset   string `json:"dataset"`
	Timestamp string `json:"timestamp"`
}

// FeatureRef selects one feature of a view, or all of them when Feature is
// empty. In YAML it is written "view" or "view:feature".
type FeatureRef struct {
	View    string `json:"view"`
	Feature string `json:"feature,omitempty"`
}

// String gives the YAML spelling of r.
func (r FeatureRef) String() string {
	if r.Feature == "" {
		return r.View
	}
	return r.View + ":" + r.Feature
}

// Split assigns each spine row to train, valid or test by a hash of the By
// column and Seed, so all rows of one key land in the same split.
type Split struct {
	By    string  `json:"by"`
	Train float64 `json:"train"`
	Valid float64 `json:"valid"`
	Test  float64 `json:"test"`
	Seed  uint64  `json:"seed"`
}

// ColumnType is the type of a lake column, spelled as in dataset schemas.
type ColumnType string

// The column types.
const (
	Int64     ColumnType = "int64"
	Float64   ColumnType = "float64"
	String    ColumnType = "string"
	Bool      ColumnType = "bool"
	Timestamp ColumnType = "timestamp"
)

// Valid reports whether t is one of the column types.
func (t ColumnType) Valid() bool {
	switch t {
	case Int64, Float64, String, Bool, Timestamp:
		return true
	}
	return false
}

func (t ColumnType) numeric() bool { return t == Int64 || t == Float64 }
