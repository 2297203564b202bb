package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/granaryml/granary/internal/lake"
)

// Kind names one of granary's long workflows the harness can crash.
type Kind string

const (
	Import  Kind = "import"  // CommitDataset: `granary dataset import`
	Extract Kind = "extract" // ExtractFeatures: `granary extract VIEW`
	Build   Kind = "build"   // BuildTrainingData: `granary build SET`
	// Materialize: `granary materialize VIEW`.
	Materialize Kind = "materialize"
)

// Steps are the activity types a workflow of kind k runs, in order (see
// Chaos.Steps). They are the workflows' activity names, spelled out here
// because this package must not import workflows or activities.
func (k Kind) Steps() []string {
	switch k {
	case Import:
		return []string{"InferSchema", "ConvertSource", "ComputeStats", "CommitVersion", "MoveRefs"} // ComputeStats: several files only
	case Extract:
		return []string{"PlanExtract", "PartitionSourceFile", "SortShard", "ComputeStats", "CommitVersion", "MoveRefs"}
	case Build:
		return []string{"PlanBuild", "PartitionSpine", "JoinShard", "Assemble", "ComputeStats", "CommitVersion", "MoveRefs"}
	case Materialize:
		return []string{"PlanMaterialize", "MaterializeShard", "CommitVersion", "MoveRefs", "NotifyServing"}
	}
	return nil
}

// Phases are the steps of kind k worth a targeted kill, in order: every
// step that moves data, then the commit (a kill there is the one that
// tests an idempotent manifest write). Planning is a single small read,
// and a kill targeted at the ref move could race the workflow's end.
func (k Kind) Phases() []Target {
	// The commit writes a manifest and a provenance record in tens of
	// milliseconds: a kill targeted at it comes at once, or it misses.
	commit := Target{Step: "CommitVersion", MaxDelay: 10 * time.Millisecond}
	switch k {
	case Import:
		// A one-file import infers its schema and takes its statistics
		// while converting: only imports of several files run
		// InferSchema and ComputeStats.
		return []Target{{Step: "ConvertSource"}, commit}
	case Extract:
		return []Target{{Step: "PartitionSourceFile"}, {Step: "SortShard"}, {Step: "ComputeStats"}, commit}
	case Build:
		return []Target{{Step: "PartitionSpine"}, {Step: "JoinShard"}, {Step: "Assemble"}, {Step: "ComputeStats"}, commit}
	case Materialize:
		return []Target{{Step: "MaterializeShard"}, commit}
	}
	return nil
}

// Names the example spec (examples/shop/features.yaml) gives the datasets
// the feature workloads read and write.
const (
	OrdersDataset   = "orders"       // the user_orders view's source
	SpineDataset    = "churn_labels" // the churn training set's spine
	View            = "user_orders"
	ViewDataset     = "view.user_orders"
	TrainingSet     = "churn"
	TrainingDataset = "training.churn"
)

// FeatureData is the generated input of an extraction or a build of the
// example spec: orders in several files (one import of all of them gives
// a source version with several files, so an extraction runs several
// partition activities) and churn labels, the spine, in several files.
type FeatureData struct {
	Orders []OrdersCSV
	Spine  []SpineCSV
}

// WriteFeatureData writes orderFiles files of orderRows orders each, then
// spineFiles files of spineRows labels each (none if spineFiles is 0) over
// the orders' time span, into dir. The same arguments give the same bytes.
func WriteFeatureData(dir string, orderFiles, orderRows, spineFiles, spineRows int) (FeatureData, error) {
	var d FeatureData
	for i := range orderFiles {
		o, err := WriteOrdersCSV(filepath.Join(dir, fmt.Sprintf("orders-%d.csv", i+1)), orderRows, i)
		if err != nil {
			return d, err
		}
		d.Orders = append(d.Orders, o)
	}
	if len(d.Orders) == 0 {
		return d, fmt.Errorf("crashtest: no orders files")
	}
	// Labels start a week into the orders, so early labels see partial
	// windows and late ones full 30-day windows and expired TTLs.
	from := d.Orders[0].First.Add(7 * 24 * time.Hour)
	to := d.Orders[len(d.Orders)-1].Last.Add(14 * 24 * time.Hour)
	for i := range spineFiles {
		s, err := WriteSpineCSV(filepath.Join(dir, fmt.Sprintf("labels-%d.csv", i+1)), spineRows, i, from, to)
		if err != nil {
			return d, err
		}
		d.Spine = append(d.Spine, s)
	}
	return d, nil
}

// OrderPaths, SpinePaths: the files, in the order they are imported.
func (d FeatureData) OrderPaths() []string {
	var p []string
	for _, o := range d.Orders {
		p = append(p, o.Path)
	}
	return p
}

func (d FeatureData) SpinePaths() []string {
	var p []string
	for _, s := range d.Spine {
		p = append(p, s.Path)
	}
	return p
}

// Totals sums the orders files' counts.
func (d FeatureData) Totals() OrdersCSV {
	var t OrdersCSV
	for _, o := range d.Orders {
		t.Bytes += o.Bytes
		t.Rows += o.Rows
		t.Kept += o.Kept
		t.Dropped += o.Dropped
		t.Filtered += o.Filtered
	}
	return t
}

// SpineRows is the number of labels, which is also the number of rows of
// every build of the churn training set.
func (d FeatureData) SpineRows() int64 {
	var n int64
	for _, s := range d.Spine {
		n += s.Rows
	}
	return n
}

// Bytes is the size of every generated file.
func (d FeatureData) Bytes() int64 {
	n := d.Totals().Bytes
	for _, s := range d.Spine {
		n += s.Bytes
	}
	return n
}

// CLI runs one granary command against the servers and lake under test
// and returns its stdout. The caller adds the global flags (addresses,
// lake) and `--output json`; args start with the command, e.g.
// "dataset", "import", …
type CLI func(ctx context.Context, args ...string) ([]byte, error)

// Workload is what a crash run of an extraction or a build needs around
// the crashed workflow: the data, the spec and how to reach granary.
type Workload struct {
	Kind Kind
	Data FeatureData
	// Spec is the path of the example spec (examples/shop/features.yaml);
	// its base name is part of the applied spec's version.
	Spec   string
	Shards int // of the extraction
	Run    CLI
}

// Prepared is what Prepare committed: the pins of the workflow it leads to.
type Prepared struct {
	Orders string // orders version
	Spec   string // applied spec version
	Spine  string // churn_labels version (Build)
	View   string // view.user_orders version (Build)
}

type versionJSON struct {
	Version    string `json:"version"`
	Rows       int64  `json:"rows"`
	WorkflowID string `json:"workflow_id"`
	Attached   bool   `json:"attached"`
}

func (w Workload) runJSON(ctx context.Context, v any, args ...string) error {
	out, err := w.Run(ctx, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("crashtest: granary %v printed no JSON: %v\n%s", args, err, out)
	}
	return nil
}

// Prepare brings the lake to where the workflow under test can start,
// uninterrupted (a worker must be running): for Extract, the orders are
// imported (all files in one import) and the spec applied; for Build, the
// labels are imported too and the view extracted with w.Shards shards.
func (w Workload) Prepare(ctx context.Context) (Prepared, error) {
	var p Prepared
	var v versionJSON
	if err := w.runJSON(ctx, &v, append(append([]string{"dataset", "import", OrdersDataset}, w.Data.OrderPaths()...), "--wait")...); err != nil {
		return p, err
	}
	p.Orders = v.Version
	if w.Kind == Build {
		if err := w.runJSON(ctx, &v, append(append([]string{"dataset", "import", SpineDataset}, w.Data.SpinePaths()...), "--wait")...); err != nil {
			return p, err
		}
		p.Spine = v.Version
	}
	if err := w.runJSON(ctx, &v, "features", "apply", w.Spec); err != nil {
		return p, err
	}
	p.Spec = v.Version
	if w.Kind == Build || w.Kind == Materialize {
		if err := w.runJSON(ctx, &v, w.extractArgs("--wait")...); err != nil {
			return p, err
		}
		p.View = v.Version
	}
	return p, nil
}

func (w Workload) extractArgs(more ...string) []string {
	return append([]string{"extract", View, "--shards", fmt.Sprint(w.Shards)}, more...)
}

// Launch starts the workflow under test without waiting for it (the
// command returns once it runs) and returns its workflow id. With wait,
// it waits instead and reports whether it attached to an earlier run.
func (w Workload) Launch(ctx context.Context, wait bool) (workflowID, version string, attached bool, err error) {
	var args []string
	switch w.Kind {
	case Extract:
		args = w.extractArgs()
	case Build:
		args = []string{"build", TrainingSet}
	case Materialize:
		args = []string{"materialize", View}
	default:
		return "", "", false, fmt.Errorf("crashtest: no workload launch for %q", w.Kind)
	}
	if wait {
		args = append(args, "--wait")
	}
	var v versionJSON
	if err := w.runJSON(ctx, &v, args...); err != nil {
		return "", "", false, err
	}
	return v.WorkflowID, v.Version, v.Attached, nil
}

// Dataset is the dataset the workflow under test commits, which readers
// watch.
func (w Workload) Dataset() string {
	switch w.Kind {
	case Build:
		return TrainingDataset
	case Materialize:
		return View // the serving index is named after its view
	}
	return ViewDataset
}

// LakeKind is the kind of lake name Dataset is: the serving index of a
// materialization, a dataset otherwise.
func (w Workload) LakeKind() lake.Kind {
	if w.Kind == Materialize {
		return lake.KindIndex
	}
	return lake.KindDataset
}

// Rows is how many rows the committed version must have, known from the
// generated data alone: the orders the view keeps, or one row per label.
// A materialization's entity count is not: the caller takes it from an
// uninterrupted run.
func (w Workload) Rows() int64 {
	if w.Kind == Build {
		return w.Data.SpineRows()
	}
	return w.Data.Totals().Kept
}
