package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

// Pins fix every input of a build. `granary build --output json` prints
// them, and `--pin FILE` reads them back, so any build can be repeated
// exactly later.
type Pins struct {
	Spec  string            `json:"spec"`  // spec version id
	Spine string            `json:"spine"` // spine dataset version id
	Views map[string]string `json:"views"` // view -> view dataset version id
}

type buildOutput struct {
	workflows.BuildResult
	runRef
	Pins Pins   `json:"pins"`
	Out  string `json:"out,omitempty"`
}

func buildCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "build",
		Usage:     "build a training set: point-in-time join of feature views onto a label spine",
		ArgsUsage: "SET",
		Description: `Runs the BuildTrainingData workflow for training set SET of the current
spec. Every input is pinned first (spine@latest and each view's latest
extraction, unless --spine / --pin say otherwise) and recorded in the
version's lineage, so the same pins always give the same version id and
byte-identical files. Feature columns are named <view>__<feature>; spine
columns are kept as they are, in the spine's row order within each split.

Examples:
   granary build churn --wait
   granary build churn --spine churn_labels@v2 --wait --out /tmp/churn
   granary build churn --output json > pins.json && granary build churn --pin pins.json --wait`,
		Flags: []ucli.Flag{
			projectFlag(),
			&ucli.StringFlag{Name: "spine", Usage: "spine version `NAME@REF` (default: the spine dataset @latest)"},
			&ucli.StringFlag{Name: "pin", Usage: "JSON `FILE` with {\"spec\",\"spine\",\"views\":{...}} version ids (a previous build's --output json works)"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait for the build, showing progress"},
			&ucli.StringFlag{Name: "out", Usage: "after the build, write DIR/train/, DIR/valid/, DIR/test/ parquet files and DIR/manifest.json"},
		},
		Action: runBuild,
	}
}

func readPins(path string) (Pins, error) {
	var p Pins
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("--pin: %w", err)
	}
	// A previous build's JSON output nests the pins; accept both.
	var wrapped struct {
		Pins *Pins `json:"pins"`
	}
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Pins != nil {
		return *wrapped.Pins, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("--pin %s: not valid JSON: %v", path, err)
	}
	return p, nil
}

func runBuild(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usagef("build takes one SET")
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	var pins Pins
	if f := c.String("pin"); f != "" {
		if pins, err = readPins(f); err != nil {
			return err
		}
	}
	spec, specID, err := currentSpec(c, l)
	if err != nil {
		return err
	}
	if pins.Spec != "" {
		if specID, err = l.Resolve(c.Context, lake.KindSpec, spec.Project, pins.Spec); err != nil {
			return fmt.Errorf("pinned spec: %w", err)
		}
		if spec, err = activities.LoadSpec(c.Context, l, spec.Project, specID); err != nil {
			return err
		}
	}
	ts, err := spec.TrainingSet(c.Args().First())
	if err != nil {
		return err
	}
	spineName, spineRef := ts.Spine.Dataset, "latest"
	if pins.Spine != "" {
		spineRef = pins.Spine
	}
	if s := c.String("spine"); s != "" {
		spineName, spineRef = lake.SplitRef(s)
		if spineName != ts.Spine.Dataset {
			return usagef("--spine %s: training set %s reads dataset %q", s, ts.Name, ts.Spine.Dataset)
		}
	}
	spineVersion, err := l.Resolve(c.Context, lake.KindDataset, spineName, spineRef)
	if err != nil {
		return fmt.Errorf("spine of %s: %w", ts.Name, err)
	}
	refs, err := spec.Selected(ts)
	if err != nil {
		return err
	}
	views := map[string]string{}
	for _, r := range refs {
		if _, ok := views[r.View]; ok {
			continue
		}
		ref := "latest"
		if v := pins.Views[r.View]; v != "" {
			ref = v
		}
		id, err := l.Resolve(c.Context, lake.KindDataset, activities.ViewDataset(r.View), ref)
		if errors.Is(err, lake.ErrNotFound) && ref == "latest" {
			return fmt.Errorf("view %s has not been extracted yet; run: granary extract %s --wait", r.View, r.View)
		}
		if err != nil {
			return fmt.Errorf("view %s: %w", r.View, err)
		}
		views[r.View] = id
	}
	in := workflows.BuildInput{Project: spec.Project, SpecVersion: specID, Set: ts.Name, SpineVersion: spineVersion, ViewVersions: views, User: currentUser(), Host: hostname()}
	out := buildOutput{Pins: Pins{Spec: specID, Spine: spineVersion, Views: views}}

	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.BuildID(in), workflows.BuildWorkflowName, in)
	if err != nil {
		return err
	}
	out.Set = ts.Name
	out.announce(c, p, run, "build", fmt.Sprintf("building %s: spine %s@%s, %s\n", ts.Name, spineName, lake.ShortID(spineVersion), counted(len(views), "view")))
	if !c.Bool("wait") && !run.Attached && c.String("out") == "" {
		return printStarted(p, out, out.runRef)
	}
	if err := waitWithProgress(c.Context, tc, run, c.App.ErrWriter, renderBuildProgress, &out.BuildResult); err != nil {
		return runFailed("build of "+ts.Name+" failed", out.URL, err)
	}
	st, err := settleRefs(c, tc, l, p, run, refTarget{kind: lake.KindDataset, name: out.Dataset, refs: []string{"latest"}, reason: "build " + ts.Name}, out.Version, out.Moves)
	if err != nil {
		return err
	}
	out.Moves, out.RefsWorkflowID = st.Moves, st.WorkflowID
	if dir := c.String("out"); dir != "" {
		if err := exportTrainingSet(c.Context, l, out, dir, p); err != nil {
			return err
		}
		out.Out = dir
	}
	return p.result(out, func(w io.Writer) {
		r := out.BuildResult
		fprintf(w, "%s@%s\n", r.Dataset, r.Version)
		var parts []string
		for _, s := range []string{"train", "valid", "test", "all"} {
			if n, ok := r.Splits[s]; ok {
				parts = append(parts, fmt.Sprintf("%s %d", s, n))
			}
		}
		fprintf(w, "  %d rows (%s), %s\n", r.Rows, strings.Join(parts, ", "), humanBytes(r.Bytes))
		for _, in := range r.Inputs {
			if in.Version != "" {
				fprintf(w, "  %s: %s@%s\n", in.Role, in.Name, lake.ShortID(in.Version))
			}
		}
		if out.Out != "" {
			fprintf(w, "  files: %s/{train,valid,test}/ and %s/manifest.json\n", out.Out, out.Out)
		}
		printRefsAgain(w, out.runRef, r.Moves)
		fprintf(w, "  run: %s\n", out.URL)
	})
}

func renderBuildProgress(pr workflows.BuildProgress, elapsed time.Duration) string {
	line := "build: " + pr.Phase
	switch pr.Phase {
	case "partitioning spine":
		line += fmt.Sprintf(" %s %d/%d", bar(int64(pr.PartsDone), int64(pr.Partitions)), pr.PartsDone, pr.Partitions)
	case "joining":
		eta := ""
		if pr.ShardsDone > 0 && pr.ShardsDone < pr.Shards {
			left := time.Duration(float64(elapsed) / float64(pr.ShardsDone) * float64(pr.Shards-pr.ShardsDone))
			eta = ", ETA " + left.Truncate(time.Second).String()
		}
		line += fmt.Sprintf(" %s shards %d/%d, %d spine rows joined%s", bar(int64(pr.ShardsDone), int64(pr.Shards)), pr.ShardsDone, pr.Shards, pr.RowsJoined, eta)
	}
	return line + ", " + elapsed.Truncate(time.Second).String()
}

// exportTrainingSet lays a built version out as DIR/<split>/part-NNNNN.parquet
// plus DIR/manifest.json (manifest, version id and pins).
func exportTrainingSet(ctx context.Context, l *lake.Lake, out buildOutput, dir string, p printer) error {
	m, err := l.GetManifest(ctx, lake.KindDataset, out.Dataset, out.Version)
	if err != nil {
		return err
	}
	counter := map[string]int{}
	for _, f := range m.Files {
		split := f.Partition
		if split == "" {
			split = "all"
		}
		sub := filepath.Join(dir, split)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		path := filepath.Join(sub, fmt.Sprintf("part-%05d.parquet", counter[split]))
		counter[split]++
		p.infof("writing %s (%d rows)\n", path, f.Rows)
		if err := exportFile(ctx, l, f, "parquet", path); err != nil {
			return err
		}
	}
	doc := struct {
		Dataset  string         `json:"dataset"`
		Version  string         `json:"version"`
		Pins     Pins           `json:"pins"`
		Manifest *lake.Manifest `json:"manifest"`
	}{out.Dataset, out.Version, out.Pins, m}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}
