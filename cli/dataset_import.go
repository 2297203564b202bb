package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

// importOutput is `dataset import --output json`.
type importOutput struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Rows       int64          `json:"rows"`
	Bytes      int64          `json:"bytes"`
	Files      int            `json:"files"`
	Created    bool           `json:"created"`
	Attached   bool           `json:"attached"`
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	URL        string         `json:"url"`
	Moves      []lake.RefMove `json:"moves,omitempty"`
	// RefsWorkflowID: see runRef.
	RefsWorkflowID string `json:"refs_workflow_id,omitempty"`
}

func datasetImportCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "import CSV, JSONL or parquet files as a new dataset version",
		ArgsUsage: "NAME PATH...",
		Description: `Uploads each local PATH (a file, or a directory of files) into the lake,
content-addressed, then runs the CommitDataset workflow: infer the schema
(or apply --schema), convert to parquet (zstd, bounded row groups), compute
column statistics, commit an immutable version and move refs/latest (and
--tag) by compare-and-swap. Importing identical bytes again yields the same
version id and writes nothing new; if latest (or a --tag) has moved on since,
it is moved back to that version by a small RepointRefs run.

A PATH may also be lake:KEY (an object already in the lake) or
s3://bucket/key?endpoint=host:port (read by the worker with its credentials,
only from an endpoint the workers allow: the lake's own, or one given with
granary worker --allow-endpoint / GRANARY_ALLOWED_ENDPOINTS). Credentials
never go in the URL. The CLI pins such a PATH to the object's current ETag
and size: after the object is overwritten, importing it again imports the
new object; if it changes while the import runs, the import fails and asks
to be run again.

Schema file (YAML):
   columns:
     - {name: user_id, type: int64}
     - {name: amount, type: float64, nullable: true}
     - {name: ts, type: timestamp}     # types: int64 float64 string bool timestamp

Examples:
   granary dataset import orders data/orders.csv --wait
   granary dataset import orders data/2024/ --schema orders.schema.yaml --tag v1 --wait
   granary dataset import events 'lake:raw/events.jsonl' --format jsonl --wait --output json`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Value: "auto", Usage: "input `FORMAT`: auto, csv, jsonl or parquet"},
			&ucli.StringFlag{Name: "schema", Usage: "YAML schema `FILE` (default: inferred from the data)"},
			&ucli.StringSliceFlag{Name: "tag", Usage: "also point `ALIAS` at the new version (repeatable)"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait for the import to finish, showing progress"},
		},
		Action: runImport,
	}
}

func runImport(c *ucli.Context) error {
	if c.NArg() < 2 {
		return usagef("dataset import takes NAME and at least one PATH")
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	name := c.Args().First()
	if err := lake.ValidateName("dataset", name); err != nil {
		return err
	}
	tags := c.StringSlice("tag")
	for _, t := range tags {
		if err := lake.ValidateName("tag", t); err != nil {
			return err
		}
	}
	format := tabular.Format(c.String("format"))
	if format != "auto" && !format.Valid() {
		return usagef("--format %q: must be auto, csv, jsonl or parquet", format)
	}
	in := workflows.CommitDatasetInput{Name: name, Format: format, Tags: tags, User: currentUser(), Host: hostname()}
	if f := c.String("schema"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--schema: %w", err)
		}
		s, err := tabular.ParseSchemaYAML(f, b)
		if err != nil {
			return err
		}
		in.Schema = &s
	}
	if in.Sources, err = uploadSources(c, l, c.Args().Tail(), p); err != nil {
		return err
	}

	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.CommitDatasetID(in), workflows.CommitDatasetWorkflowName, in)
	if err != nil {
		return err
	}
	out := importOutput{Name: name, Attached: run.Attached, WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: runURL(c, run.GetID(), run.GetRunID())}
	if run.Attached {
		p.infof("identical import %s already %s; following it\n", out.WorkflowID, strings.ToLower(run.Status.String()))
	}
	if !c.Bool("wait") && !run.Attached {
		return p.result(out, func(w io.Writer) {
			fprintf(w, "started import of %s: %s\n  follow it: %s\n  or re-run with --wait\n", name, out.WorkflowID, out.URL)
		})
	}
	var res workflows.CommitDatasetResult
	err = waitWithProgress(c.Context, tc, run, c.App.ErrWriter, renderImportProgress, &res)
	if err != nil {
		return runFailed("import of "+name+" failed", out.URL, err)
	}
	out.Version, out.Rows, out.Bytes, out.Files, out.Created, out.Moves = res.Version, res.Rows, res.Bytes, res.Files, res.Created, res.Moves
	st, err := settleRefs(c, tc, l, p, run, refTarget{kind: lake.KindDataset, name: name, refs: append([]string{"latest"}, tags...), reason: "import"}, res.Version, res.Moves)
	if err != nil {
		return err
	}
	out.Moves, out.RefsWorkflowID = st.Moves, st.WorkflowID
	return p.result(out, func(w io.Writer) {
		state := "new version"
		switch {
		case out.Attached && out.RefsWorkflowID != "":
			state = "already imported by " + out.WorkflowID + "; refs moved again by " + out.RefsWorkflowID
		case out.Attached:
			state = "already imported by " + out.WorkflowID
		case !res.Created:
			state = "same content as an existing version"
		}
		fprintf(w, "%s@%s (%s)\n", name, res.Version, state)
		fprintf(w, "  %d rows, %s, %s parquet\n", res.Rows, counted(res.Files, "file"), humanBytes(res.Bytes))
		for _, mv := range out.Moves {
			fprintf(w, "  %s -> %s\n", mv.Ref, lake.ShortID(mv.To))
		}
		fprintf(w, "  run: %s\n", out.URL)
	})
}

func renderImportProgress(pr workflows.ImportProgress, elapsed time.Duration) string {
	rate := ""
	if s := elapsed.Seconds(); s > 0 && pr.Rows > 0 {
		rate = fmt.Sprintf(", %.0f rows/s", float64(pr.Rows)/s)
	}
	return fmt.Sprintf("import: %s, files %d/%d, %d rows%s, %s", pr.Phase, pr.FilesDone, pr.Files, pr.Rows, rate, elapsed.Truncate(time.Second))
}

// uploadSources turns PATH arguments into staged sources: local files (a
// directory means its regular files, sorted, hidden ones skipped) are
// hashed and uploaded by the CLI; lake: and s3:// URLs are pinned to the
// object they name now and staged by a worker.
func uploadSources(c *ucli.Context, l *lake.Lake, args []string, p printer) ([]activities.Source, error) {
	ctx := c.Context
	var out []activities.Source
	for _, arg := range args {
		if strings.HasPrefix(arg, "lake:") || strings.HasPrefix(arg, "s3://") {
			src, err := resolveRemoteSource(ctx, c, l, arg)
			if err != nil {
				return nil, err
			}
			out = append(out, src)
			continue
		}
		paths, err := expandPath(arg)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			p.infof("uploading %s\n", path)
			d, size, written, err := l.PutBlobFile(ctx, path)
			if err != nil {
				return nil, fmt.Errorf("upload %s: %w", path, err)
			}
			if !written {
				p.infof("  already in the lake (%s)\n", lake.ShortID(d.Hex()))
			}
			out = append(out, activities.Source{Name: filepath.Base(path), Digest: d, Bytes: size})
		}
	}
	return out, nil
}

func expandPath(arg string) ([]string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", arg, err)
	}
	if st.Mode().IsRegular() {
		return []string{arg}, nil
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("input %s: not a regular file or directory", arg)
	}
	entries, err := os.ReadDir(arg)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", arg, err)
	}
	var paths []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		paths = append(paths, filepath.Join(arg, e.Name()))
	}
	slices.Sort(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("input %s: directory has no files", arg)
	}
	return paths, nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
