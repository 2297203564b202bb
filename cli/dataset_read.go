package cli

import (
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/lake"
)

func datasetListCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "list",
		Usage: "list datasets with their version counts and refs",
		Description: `Examples:
   granary dataset list
   granary dataset list --output json | jq '.[].name'`,
		Action: func(c *ucli.Context) error {
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			names, err := l.ListNames(c.Context, lake.KindDataset)
			if err != nil {
				return err
			}
			return p.result(names, func(w io.Writer) {
				if len(names) == 0 {
					fprintf(w, "no datasets yet; import one with: granary dataset import NAME FILE...\n")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fprintf(tw, "NAME\tVERSIONS\tREFS\n")
				for _, n := range names {
					fprintf(tw, "%s\t%d\t%s\n", n.Name, n.Versions, formatRefs(n.Refs))
				}
				tw.Flush()
			})
		},
	}
}

func formatRefs(refs map[string]string) string {
	keys := sortedKeys(refs)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + lake.ShortID(refs[k])
	}
	return strings.Join(parts, " ")
}

// datasetShowOutput is `dataset show --output json`.
type datasetShowOutput struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Refs     []string        `json:"refs"`
	Manifest *lake.Manifest  `json:"manifest"`
	Runs     []runProvenance `json:"runs"`
}

type runProvenance struct {
	lake.Provenance
	URL string `json:"url,omitempty"`
}

func datasetShowCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "show",
		Usage:     "show a version: schema, rows, stats, lineage and the runs that produced it",
		ArgsUsage: "NAME[@REF]",
		Description: `Examples:
   granary dataset show orders
   granary dataset show orders@prod
   granary dataset show orders@3f2a9c1e --output json`,
		Action: func(c *ucli.Context) error {
			va, err := resolveVersionArg(c, lake.KindDataset, "dataset show")
			if err != nil {
				return err
			}
			p, l, name, id, m := va.p, va.l, va.name, va.id, va.m
			out := datasetShowOutput{Name: name, Version: id, Manifest: m, Refs: refsPointingAt(c, l, lake.KindDataset, name, id)}
			provs, err := l.Provenances(c.Context, lake.KindDataset, name, id)
			if err != nil {
				return err
			}
			for _, pv := range provs {
				rp := runProvenance{Provenance: pv}
				if pv.WorkflowID != "" {
					rp.URL = runURL(c, pv.WorkflowID, pv.RunID)
				}
				out.Runs = append(out.Runs, rp)
			}
			return p.result(out, func(w io.Writer) { printManifest(w, out) })
		},
	}
}

func refsPointingAt(c *ucli.Context, l *lake.Lake, k lake.Kind, name, id string) []string {
	refs, err := l.Refs(c.Context, k, name)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range sortedKeys(refs) {
		if refs[r] == id {
			out = append(out, r)
		}
	}
	return out
}

func printManifest(w io.Writer, o datasetShowOutput) {
	m := o.Manifest
	refs := ""
	if len(o.Refs) > 0 {
		refs = " (" + strings.Join(o.Refs, ", ") + ")"
	}
	fprintf(w, "%s@%s%s\n", o.Name, o.Version, refs)
	fprintf(w, "  rows %d, files %d, %s\n", m.Rows, len(m.Files), humanBytes(m.Bytes))
	fprintf(w, "\nschema:\n")
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	for _, col := range m.Schema.Columns {
		null := ""
		if col.Nullable {
			null = "nullable"
		}
		fprintf(tw, "  %s\t%s\t%s\n", col.Name, col.Type, null)
	}
	tw.Flush()
	if len(m.Stats) > 0 {
		fprintf(w, "\nstats:\n")
		tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fprintf(tw, "  COLUMN\tNULLS\tMIN\tMAX\tMEAN\tDISTINCT≈\n")
		for _, s := range m.Stats {
			fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%d\n", s.Name, s.Nulls, strOrDash(s.Min), strOrDash(s.Max), floatOrDash(s.Mean), s.Distinct)
		}
		tw.Flush()
	}
	if len(m.Inputs) > 0 {
		fprintf(w, "\nbuilt from:\n")
		for _, in := range m.Inputs {
			switch {
			case in.Version != "":
				fprintf(w, "  %s: %s %s@%s\n", in.Role, strings.TrimSuffix(string(in.Kind), "s"), in.Name, lake.ShortID(in.Version))
			default:
				fprintf(w, "  %s: %s %s\n", in.Role, in.Name, in.Digest)
			}
		}
	}
	if len(m.Params) > 0 {
		fprintf(w, "\nparameters:\n")
		for _, k := range sortedKeys(m.Params) {
			fprintf(w, "  %s = %s\n", k, m.Params[k])
		}
	}
	if len(o.Runs) > 0 {
		fprintf(w, "\nruns:\n")
		for _, r := range o.Runs {
			fprintf(w, "  %s by %s on %s (granary %s)\n", r.At.Local().Format(time.DateTime), orDash(r.User), orDash(r.Host), orDash(r.CodeVersion))
			for _, s := range r.Sources {
				fprintf(w, "    source %s (%s, %s)\n", s.Name, humanBytes(s.Bytes), s.Digest)
			}
			if r.URL != "" {
				fprintf(w, "    %s\n", r.URL)
			}
		}
	}
}

func datasetLogCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "log",
		Usage:     "history of ref moves: which version latest and every tag pointed at, when, by whom",
		ArgsUsage: "NAME",
		Description: `Examples:
   granary dataset log orders
   granary dataset log orders --output json`,
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("dataset log takes one NAME")
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			name := c.Args().First()
			if err := lake.ValidateName("dataset", name); err != nil {
				return err
			}
			moves, err := l.Log(c.Context, lake.KindDataset, name)
			if err != nil {
				return err
			}
			if moves == nil {
				moves = []lake.RefMove{}
			}
			return p.result(moves, func(w io.Writer) {
				if len(moves) == 0 {
					fprintf(w, "no ref moves recorded for %s\n", name)
					return
				}
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fprintf(tw, "TIME\tREF\tFROM\tTO\tBY\tREASON\n")
				for _, mv := range moves {
					fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mv.At.Local().Format(time.DateTime), mv.Ref, orDash(lake.ShortID(mv.From)), lake.ShortID(mv.To), orDash(mv.By), orDash(mv.Reason))
				}
				tw.Flush()
			})
		},
	}
}
