package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
)

type exportOutput struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Dir     string   `json:"dir"`
	Files   []string `json:"files"`
	Rows    int64    `json:"rows"`
}

func datasetExportCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "export",
		Usage:     "write a version's data to a local directory as parquet or CSV",
		ArgsUsage: "NAME[@REF]",
		Description: `Writes part-00000.<ext>, part-00001.<ext>, ... (one per file of the version)
and manifest.json (the version's manifest) into --out. Parquet parts are
the lake's blobs byte for byte, so re-importing them gives the same version
id. CSV uses RFC 4180 quoting; a null is an empty unquoted field and an
empty string is "" (quoted), timestamps are RFC 3339 in UTC.

Examples:
   granary dataset export orders@prod --out /tmp/orders
   granary dataset export orders --out /tmp/orders-csv --format csv`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "out", Required: true, Usage: "write into `DIR` (created if missing)"},
			&ucli.StringFlag{Name: "format", Value: "parquet", Usage: "`FORMAT`: parquet or csv"},
		},
		Action: func(c *ucli.Context) error {
			format := c.String("format")
			if format != "parquet" && format != "csv" {
				return usagef("--format %q: must be parquet or csv", format)
			}
			va, err := resolveVersionArg(c, lake.KindDataset, "dataset export")
			if err != nil {
				return err
			}
			p, l, name, id, m := va.p, va.l, va.name, va.id, va.m
			dir := c.String("out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			out := exportOutput{Name: name, Version: id, Dir: dir, Rows: m.Rows}
			for i, f := range m.Files {
				path := filepath.Join(dir, fmt.Sprintf("part-%05d.%s", i, format))
				p.infof("writing %s (%d rows)\n", path, f.Rows)
				if err := exportFile(c.Context, l, f, format, path); err != nil {
					return err
				}
				out.Files = append(out.Files, path)
			}
			mb, _ := m.Canonical()
			if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(mb, '\n'), 0o644); err != nil {
				return err
			}
			return p.result(out, func(w io.Writer) {
				fprintf(w, "exported %s@%s: %d rows in %s to %s\n", name, lake.ShortID(id), m.Rows, counted(len(out.Files), format+" file"), dir)
			})
		},
	}
}

// exportFile writes through a temp file and renames, so an interrupted
// export never leaves a truncated part that looks complete.
func exportFile(ctx context.Context, l *lake.Lake, f lake.File, format, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if format == "parquet" {
		rc, _, err := l.OpenBlob(ctx, f.Digest)
		if err != nil {
			return err
		}
		_, err = io.Copy(tmp, rc)
		rc.Close()
		if err != nil {
			return err
		}
	} else {
		rr, err := l.BlobReaderAt(ctx, f.Digest)
		if err != nil {
			return err
		}
		if err := tabular.ExportCSV(ctx, rr, rr.Size(), tmp); err != nil {
			return fmt.Errorf("export %s: %w", f.Digest, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
