package cli

import (
	"errors"
	"fmt"
	"io"
	"os/user"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

type datasetDiffOutput struct {
	From string `json:"from"`
	To   string `json:"to"`
	lake.Diff
}

func datasetDiffCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "diff",
		Usage:     "compare two versions: schema changes, rows, files, per-column statistics",
		ArgsUsage: "NAME@A NAME@B",
		Description: `B may omit the name to compare within one dataset.

Examples:
   granary dataset diff orders@prod orders@latest
   granary dataset diff orders@3f2a9c1e @latest --output json`,
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return usagef("dataset diff takes two NAME@REF arguments")
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			nameA, refA := lake.SplitRef(c.Args().Get(0))
			nameB, refB := lake.SplitRef(c.Args().Get(1))
			if nameB == "" {
				nameB = nameA
			}
			idA, a, err := l.ResolveManifest(c.Context, lake.KindDataset, nameA, refA)
			if err != nil {
				return err
			}
			idB, b, err := l.ResolveManifest(c.Context, lake.KindDataset, nameB, refB)
			if err != nil {
				return err
			}
			out := datasetDiffOutput{From: idA, To: idB, Diff: lake.DiffManifests(a, b)}
			return p.result(out, func(w io.Writer) { printDiff(w, nameA, nameB, out) })
		},
	}
}

func printDiff(w io.Writer, nameA, nameB string, o datasetDiffOutput) {
	fprintf(w, "%s@%s -> %s@%s\n", nameA, lake.ShortID(o.From), nameB, lake.ShortID(o.To))
	if o.From == o.To {
		fprintf(w, "identical (same version id)\n")
		return
	}
	fprintf(w, "rows: %d -> %d (%+d)\n", o.RowsFrom, o.RowsTo, o.RowsTo-o.RowsFrom)
	for _, col := range o.ColumnsAdded {
		fprintf(w, "+ column %s %s\n", col.Name, col.Type)
	}
	for _, col := range o.ColumnsRemoved {
		fprintf(w, "- column %s %s\n", col.Name, col.Type)
	}
	for _, tc := range o.TypeChanges {
		fprintf(w, "~ column %s: %s%s -> %s%s\n", tc.Column, tc.From.Type, nullMark(tc.From.Nullable), tc.To.Type, nullMark(tc.To.Nullable))
	}
	fprintf(w, "files: %d added, %d removed\n", len(o.FilesAdded), len(o.FilesRemoved))
	if len(o.StatChanges) > 0 {
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fprintf(tw, "COLUMN\tSTAT\tFROM\tTO\n")
		for _, s := range o.StatChanges {
			fprintf(tw, "%s\t%s\t%s\t%s\n", s.Column, s.Stat, s.From, s.To)
		}
		tw.Flush()
	}
}

func nullMark(nullable bool) string {
	if nullable {
		return "?"
	}
	return ""
}

func datasetTagCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "tag",
		Usage:     "point an alias at a version (compare-and-swap)",
		ArgsUsage: "NAME@VERSION ALIAS",
		Description: `Moves ALIAS to VERSION only if nobody moved it since you looked: pass
--expect with the version you believe ALIAS points at (or --new for an
alias that must not exist yet). Without either, the move applies to
whatever ALIAS points at now. --force ignores --expect/--new.

Examples:
   granary dataset tag orders@3f2a9c1e prod
   granary dataset tag orders@latest prod --expect 1b2c3d4e
   granary dataset tag orders@3f2a9c1e prod --force --reason "roll back bad import"`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "expect", Usage: "fail unless ALIAS currently points at `REF`"},
			&ucli.BoolFlag{Name: "new", Usage: "fail if ALIAS already exists"},
			&ucli.BoolFlag{Name: "force", Usage: "move ALIAS whatever it points at"},
			&ucli.StringFlag{Name: "reason", Usage: "why, recorded in the log"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return usagef("dataset tag takes NAME@VERSION and ALIAS")
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			name, ref := lake.SplitRef(c.Args().Get(0))
			alias := c.Args().Get(1)
			if err := lake.ValidateName("alias", alias); err != nil {
				return err
			}
			id, err := l.Resolve(c.Context, lake.KindDataset, name, ref)
			if err != nil {
				return err
			}
			in := workflows.RepointRefsInput{Kind: lake.KindDataset, Name: name, Version: id,
				Reason: c.String("reason"), User: currentUser(), Host: hostname()}
			if !c.Bool("force") {
				in.ExpectAbsent = c.Bool("new")
				if e := c.String("expect"); e != "" {
					if in.Expect, err = l.Resolve(c.Context, lake.KindDataset, name, e); err != nil {
						return err
					}
				}
			}
			// The alias as read now goes into the run's id: a repeat of this
			// very tag attaches, a tag after the alias moved again is new work.
			cur, _, err := l.GetRef(c.Context, lake.KindDataset, name, alias)
			if err != nil && !errors.Is(err, lake.ErrNotFound) {
				return err
			}
			in.Refs = []workflows.RefState{{Ref: alias, Seq: cur.Seq, Version: cur.Version}}
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()
			run, err := startOrAttach(c.Context, tc, workflows.RepointRefsID(in), workflows.RepointRefsWorkflowName, in)
			if err != nil {
				return err
			}
			url := runURL(c, run.GetID(), run.GetRunID())
			var res workflows.RepointRefsResult
			if err := run.Get(c.Context, &res); err != nil {
				return runFailed(fmt.Sprintf("moving %s@%s to %s", name, alias, lake.ShortID(id)), url, err)
			}
			if len(res.Moves) != 1 {
				return fmt.Errorf("run %s reported %d moves of %s@%s, want 1", run.GetID(), len(res.Moves), name, alias)
			}
			mv := res.Moves[0]
			out := struct {
				Name       string       `json:"name"`
				Version    string       `json:"version"`
				Move       lake.RefMove `json:"move"`
				WorkflowID string       `json:"workflow_id"`
				RunID      string       `json:"run_id"`
			}{name, id, mv, run.GetID(), run.GetRunID()}
			return p.result(out, func(w io.Writer) {
				fprintf(w, "%s@%s -> %s (was %s)\n  run: %s\n", name, alias, lake.ShortID(id), orDash(lake.ShortID(mv.From)), url)
			})
		},
	}
}

func datasetGCCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "gc",
		Usage: "delete blobs no version references (orphans of failed or interrupted work, raw uploads of finished imports)",
		Description: `Only blobs that no manifest (dataset, model, spec or index) names AND that were written
(or held by a running import, build or commit) longer than --grace ago are
deleted. gc is safe to run while workflows run: a workflow relying on a blob
holds it, and gc announces what it is about to delete so a writer that
reuses one of those blobs waits and stores it again. Manifests, refs and
logs are never deleted. The deletion runs as a GC workflow on a worker
(listed by runs list --kind gc, with who asked); --dry-run only reads
the lake, here.

--grace must cover the longest an activity may rely on a blob it has not
committed yet (` + lake.MinGCGrace.String() + `); a shorter one is refused unless --force is
given (only safe when no workflow is running). A workflow that keeps a
blob uncommitted for longer than --grace fails with "blob collected by
gc" instead of committing a version that names a missing blob.

Examples:
   granary dataset gc --dry-run
   granary dataset gc --grace 72h`,
		Flags: []ucli.Flag{
			&ucli.DurationFlag{Name: "grace", Value: 24 * time.Hour, Usage: "keep unreferenced blobs written or held less than `DURATION` ago"},
			&ucli.BoolFlag{Name: "force", Usage: "accept a --grace shorter than the longest activity (only when no workflow is running)"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "report what would be deleted, delete nothing"},
		},
		Action: func(c *ucli.Context) error {
			if c.Duration("grace") < 0 {
				return usagef("--grace must not be negative")
			}
			if g := c.Duration("grace"); g < lake.MinGCGrace && !c.Bool("force") && !c.Bool("dry-run") {
				return usagef("--grace %s is shorter than %s, the longest an activity may rely on a blob it has not committed yet: gc could delete what a running workflow needs (add --force if no workflow is running)", g, lake.MinGCGrace)
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			var out gcOutput
			if c.Bool("dry-run") {
				// A dry run deletes nothing: a read, made here.
				if out.GCResult.GCResult, err = l.GC(c.Context, lake.GCOptions{Grace: c.Duration("grace"), Force: c.Bool("force"), DryRun: true}); err != nil {
					return err
				}
			} else if err := runGC(c, p, &out); err != nil {
				return err
			}
			res := out.GCResult
			var report any = out
			if res.DryRun {
				report = res // no run to name
			}
			return p.result(report, func(w io.Writer) {
				verb := "deleted"
				n := res.Deleted
				if res.DryRun {
					verb, n = "would delete", len(res.Candidates)
				}
				fprintf(w, "scanned %d blobs: %d referenced, %d unreferenced but written or held within %s; %s %d (%s)\n",
					res.Scanned, res.Referenced, res.TooRecent, c.Duration("grace"), verb, n, humanBytes(res.DeletedBytes))
				if res.Deferred > 0 {
					fprintf(w, "%d left for the next run (the store was too slow to finish their sweep in time)\n", res.Deferred)
				}
				if out.URL != "" {
					fprintf(w, "  run: %s\n", out.URL)
				}
			})
		},
	}
}

type gcOutput struct {
	activities.GCResult
	runRef
}

// runGC deletes through a GC run, so every deletion is in `runs list`
// and the Temporal UI with who asked.
func runGC(c *ucli.Context, p printer, out *gcOutput) error {
	in := workflows.GCInput{GCInput: activities.GCInput{Grace: c.Duration("grace"), Force: c.Bool("force")},
		RequestedAt: time.Now(), User: currentUser(), Host: hostname()}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.GCID(in), workflows.GCWorkflowName, in)
	if err != nil {
		return err
	}
	out.announce(c, p, run, "gc", fmt.Sprintf("collecting blobs unreferenced for %s\n", in.Grace))
	if err := run.Get(c.Context, &out.GCResult); err != nil {
		return runFailed("gc failed", out.URL, err)
	}
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
