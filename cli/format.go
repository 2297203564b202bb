package cli

import (
	"fmt"
	"slices"
	"strconv"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/lake"
)

func printerAndLake(c *ucli.Context) (printer, *lake.Lake, error) {
	p, err := newPrinter(c)
	if err != nil {
		return p, nil, err
	}
	s, err := openLake(c.Context, c)
	if err != nil {
		return p, nil, err
	}
	return p, lake.New(s), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func strOrDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func floatOrDash(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'g', 6, 64)
}

// versionArg is the shared start of commands taking one NAME[@REF]
// argument: check the argument count, open the lake, resolve the version
// and read its manifest.
type versionArg struct {
	p    printer
	l    *lake.Lake
	name string
	id   string
	m    *lake.Manifest
}

func resolveVersionArg(c *ucli.Context, k lake.Kind, command string) (versionArg, error) {
	if c.NArg() != 1 {
		return versionArg{}, usagef("%s takes one NAME[@REF]", command)
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return versionArg{}, err
	}
	name, ref := lake.SplitRef(c.Args().First())
	id, m, err := l.ResolveManifest(c.Context, k, name, ref)
	return versionArg{p: p, l: l, name: name, id: id, m: m}, err
}

// counted reads "1 file" or "3 files": human output printed "1 files"
// and "1 views" until the golden output test read it.
func counted(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
