package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/workflows"
)

func featuresCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "features",
		Usage: "validate, apply and inspect feature specs (entities, sources, feature views, training sets)",
		Description: `A feature spec is a YAML file; docs/spec.md describes the format.
"apply" stores it in the lake as the project's current spec (versioned like a
dataset, under specs/<project>/: each apply moves the spec's "latest" ref and
logs the move under specs/<project>/log/), and extract, build and materialize
read it from there.`,
		Subcommands: []*ucli.Command{
			{
				Name:      "validate",
				Usage:     "check a spec file, and its columns against the lake's datasets when they exist",
				ArgsUsage: "FILE",
				Description: `Reports every problem with file:line:column, the field, and a suggestion for
misspelt names. Exit code 1 when the spec is invalid.

Examples:
   granary features validate examples/shop/features.yaml
   granary features validate features.yaml --offline`,
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "offline", Usage: "do not check column names and types against the lake"},
				},
				Action: featuresValidate,
			},
			{
				Name:      "apply",
				Usage:     "validate a spec and make it the project's current spec in the lake",
				ArgsUsage: "FILE",
				Description: `Examples:
   granary features apply examples/shop/features.yaml
   granary features apply features.yaml --output json   # {"project","version","changes":{...}}`,
				Action: featuresApply,
			},
			{
				Name:  "list",
				Usage: "feature views of the current spec, with their latest extracted version",
				Description: `Examples:
   granary features list
   granary features list --project shop --output json`,
				Flags:  []ucli.Flag{projectFlag()},
				Action: featuresList,
			},
			{
				Name:      "show",
				Usage:     "one feature view: entity, source, features, latest extraction",
				ArgsUsage: "VIEW",
				Description: `Examples:
   granary features show user_orders`,
				Flags:  []ucli.Flag{projectFlag()},
				Action: featuresShow,
			},
		},
	}
}

func projectFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "project", Usage: "spec `PROJECT` (default: the only project in the lake)", EnvVars: []string{"GRANARY_PROJECT"}}
}

func readSpec(path string) (*features.Spec, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("spec: %w", err)
	}
	spec, err := features.Parse(path, data)
	return spec, data, err
}

// checkAgainstLake checks the spec's columns against the latest version
// of every dataset it names that exists; it returns the datasets it could
// not find, which are fine to import after applying the spec.
func checkAgainstLake(ctx context.Context, l *lake.Lake, spec *features.Spec) (missing []string, err error) {
	schemas := map[string]map[string]features.ColumnType{}
	var names []string
	for _, s := range spec.Sources {
		names = append(names, s.Dataset)
	}
	for _, ts := range spec.TrainingSets {
		names = append(names, ts.Spine.Dataset)
	}
	for _, name := range names {
		if _, ok := schemas[name]; ok || slices.Contains(missing, name) {
			continue
		}
		_, m, err := l.ResolveManifest(ctx, lake.KindDataset, name, "latest")
		if errors.Is(err, lake.ErrNotFound) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		schemas[name] = shard.ColumnTypes(m.Schema)
	}
	return missing, spec.Check(schemas)
}

type validateOutput struct {
	File     string   `json:"file"`
	Project  string   `json:"project"`
	Digest   string   `json:"digest"`
	Views    int      `json:"views"`
	Checked  bool     `json:"checked_against_lake"`
	Missing  []string `json:"datasets_not_in_lake,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

func featuresValidate(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usagef("features validate takes one FILE")
	}
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	spec, _, err := readSpec(path)
	if err != nil {
		return err
	}
	out := validateOutput{File: path, Project: spec.Project, Digest: spec.Digest(), Views: len(spec.FeatureViews)}
	if !c.Bool("offline") {
		store, err := openLake(c.Context, c)
		if err != nil {
			return err
		}
		if out.Missing, err = checkAgainstLake(c.Context, lake.New(store), spec); err != nil {
			return err
		}
		out.Checked = true
	}
	return p.result(out, func(w io.Writer) {
		fprintf(w, "%s: valid (project %s, %s, %s, digest %s)\n", path, spec.Project, counted(len(spec.FeatureViews), "feature view"), counted(len(spec.TrainingSets), "training set"), out.Digest)
		for _, m := range out.Missing {
			fprintf(w, "  note: dataset %q is not in the lake yet; its columns were not checked\n", m)
		}
	})
}

// specChanges is what an apply changed, view by view.
type specChanges struct {
	ViewsAdded          []string `json:"views_added"`
	ViewsRemoved        []string `json:"views_removed"`
	ViewsChanged        []string `json:"views_changed"`
	TrainingSetsAdded   []string `json:"training_sets_added"`
	TrainingSetsRemoved []string `json:"training_sets_removed"`
	TrainingSetsChanged []string `json:"training_sets_changed"`
	// Promotion policies, as model/alias.
	PoliciesAdded   []string `json:"policies_added"`
	PoliciesRemoved []string `json:"policies_removed"`
	PoliciesChanged []string `json:"policies_changed"`
}

type applyOutput struct {
	Project  string      `json:"project"`
	Version  string      `json:"version"`
	Digest   string      `json:"digest"`
	Previous string      `json:"previous,omitempty"`
	Changed  bool        `json:"changed"`
	Changes  specChanges `json:"changes"`
	Missing  []string    `json:"datasets_not_in_lake,omitempty"`
	runRef
}

func featuresApply(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usagef("features apply takes one FILE")
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	spec, data, err := readSpec(path)
	if err != nil {
		return err
	}
	missing, err := checkAgainstLake(c.Context, l, spec)
	if err != nil {
		return err
	}
	out := applyOutput{Project: spec.Project, Digest: spec.Digest(), Missing: missing}
	var prev *features.Spec
	if prevID, err := l.Resolve(c.Context, lake.KindSpec, spec.Project, "latest"); err == nil {
		out.Previous = prevID
		if prev, err = activities.LoadSpec(c.Context, l, spec.Project, prevID); err != nil {
			return fmt.Errorf("current spec of %s: %w", spec.Project, err)
		}
	} else if !errors.Is(err, lake.ErrNotFound) {
		return err
	}

	// The CLI uploads the spec's bytes; the commit and the move of latest
	// are a run, so they show in `runs list` with who asked.
	d, _, err := putBytesBlob(c.Context, l, data)
	if err != nil {
		return err
	}
	in := workflows.ApplySpecInput{CommitSpecInput: activities.CommitSpecInput{Project: spec.Project, Spec: d, File: filepath.Base(path)},
		User: currentUser(), Host: hostname()}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.ApplySpecID(in), workflows.ApplySpecWorkflowName, in)
	if err != nil {
		return err
	}
	out.announce(c, p, run, "apply", fmt.Sprintf("applying %s as spec %s\n", in.File, spec.Project))
	var res workflows.ApplySpecResult
	if err := run.Get(c.Context, &res); err != nil {
		return runFailed("apply of "+path+" failed", out.URL, err)
	}
	out.Version = res.Version
	// Attached to the run that applied this file before: if another spec
	// was applied since, latest moves back to this one, as asked.
	again, err := settleRefs(c, tc, l, p, run, refTarget{kind: lake.KindSpec, name: spec.Project, refs: []string{"latest"}, reason: "apply " + in.File}, res.Version, []lake.RefMove{res.Move})
	if err != nil {
		return err
	}
	out.RefsWorkflowID = again.WorkflowID
	out.Changes = diffSpecs(prev, spec)
	out.Changed = prev == nil || prev.Digest() != spec.Digest()
	return p.result(out, func(w io.Writer) {
		if !out.Changed {
			fprintf(w, "spec %s unchanged (version %s)\n  run: %s\n", spec.Project, lake.ShortID(out.Version), out.URL)
			return
		}
		fprintf(w, "applied %s as spec %s@%s\n  run: %s\n", path, spec.Project, lake.ShortID(out.Version), out.URL)
		ch := out.Changes
		for _, x := range []struct {
			what string
			list []string
		}{{"+ view", ch.ViewsAdded}, {"- view", ch.ViewsRemoved}, {"~ view", ch.ViewsChanged}, {"+ training set", ch.TrainingSetsAdded}, {"- training set", ch.TrainingSetsRemoved}, {"~ training set", ch.TrainingSetsChanged},
			{"+ promotion policy", ch.PoliciesAdded}, {"- promotion policy", ch.PoliciesRemoved}, {"~ promotion policy", ch.PoliciesChanged}} {
			for _, name := range x.list {
				fprintf(w, "  %s %s\n", x.what, name)
			}
		}
		for _, m := range out.Missing {
			fprintf(w, "  note: dataset %q is not in the lake yet; import it before extracting\n", m)
		}
	})
}

func diffSpecs(prev, next *features.Spec) specChanges {
	ch := specChanges{ViewsAdded: []string{}, ViewsRemoved: []string{}, ViewsChanged: []string{}, TrainingSetsAdded: []string{}, TrainingSetsRemoved: []string{}, TrainingSetsChanged: []string{}}
	views := func(s *features.Spec) map[string]string {
		out := map[string]string{}
		if s == nil {
			return out
		}
		for i := range s.FeatureViews {
			out[s.FeatureViews[i].Name] = viewFingerprint(s, s.FeatureViews[i].Name)
		}
		return out
	}
	sets := func(s *features.Spec) map[string]string {
		out := map[string]string{}
		if s == nil {
			return out
		}
		for _, ts := range s.TrainingSets {
			out[ts.Name] = fmt.Sprintf("%+v", ts)
		}
		return out
	}
	ch.ViewsAdded, ch.ViewsRemoved, ch.ViewsChanged = diffMaps(views(prev), views(next))
	ch.TrainingSetsAdded, ch.TrainingSetsRemoved, ch.TrainingSetsChanged = diffMaps(sets(prev), sets(next))
	policies := func(s *features.Spec) map[string]string {
		out := map[string]string{}
		if s == nil {
			return out
		}
		for _, m := range s.Models {
			for i := range m.Aliases {
				out[m.Name+"/"+m.Aliases[i].Name] = m.Aliases[i].String()
			}
		}
		return out
	}
	ch.PoliciesAdded, ch.PoliciesRemoved, ch.PoliciesChanged = diffMaps(policies(prev), policies(next))
	return ch
}

// viewFingerprint covers everything that defines a view's values: its
// features, its source and its entity.
func viewFingerprint(s *features.Spec, name string) string {
	v, src, ent, err := s.View(name)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%+v|%+v|%+v", *v, *src, *ent)
}

func diffMaps(a, b map[string]string) (added, removed, changed []string) {
	added, removed, changed = []string{}, []string{}, []string{}
	for k, vb := range b {
		va, ok := a[k]
		switch {
		case !ok:
			added = append(added, k)
		case va != vb:
			changed = append(changed, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

func putBytesBlob(ctx context.Context, l *lake.Lake, data []byte) (lake.Digest, int64, error) {
	d, n, err := lake.HashReader(strings.NewReader(string(data)))
	if err != nil {
		return "", 0, err
	}
	_, err = l.PutBlob(ctx, d, strings.NewReader(string(data)), n)
	return d, n, err
}

// currentSpec loads the project's applied spec; with no --project, the
// lake must hold exactly one project.
func currentSpec(c *ucli.Context, l *lake.Lake) (*features.Spec, string, error) {
	project := c.String("project")
	if project == "" {
		names, err := l.ListNames(c.Context, lake.KindSpec)
		if err != nil {
			return nil, "", err
		}
		switch len(names) {
		case 0:
			return nil, "", errors.New("no feature spec applied yet; run granary features apply FILE")
		case 1:
			project = names[0].Name
		default:
			var list []string
			for _, n := range names {
				list = append(list, n.Name)
			}
			return nil, "", usagef("the lake has several projects (%s); pass --project", strings.Join(list, ", "))
		}
	}
	id, err := l.Resolve(c.Context, lake.KindSpec, project, "latest")
	if err != nil {
		return nil, "", err
	}
	spec, err := activities.LoadSpec(c.Context, l, project, id)
	return spec, id, err
}

type viewSummary struct {
	Name      string   `json:"name"`
	Entity    string   `json:"entity"`
	JoinKeys  []string `json:"join_keys"`
	Source    string   `json:"source"`
	Dataset   string   `json:"dataset"`
	Features  []string `json:"features"`
	Extracted string   `json:"extracted_version,omitempty"`
	Rows      int64    `json:"rows,omitempty"`
}

func summarizeView(c *ucli.Context, l *lake.Lake, spec *features.Spec, name string) (viewSummary, *features.FeatureView, error) {
	v, src, ent, err := spec.View(name)
	if err != nil {
		return viewSummary{}, nil, err
	}
	s := viewSummary{Name: v.Name, Entity: ent.Name, JoinKeys: ent.JoinKeys, Source: src.Name, Dataset: src.Dataset}
	for _, f := range v.Features {
		s.Features = append(s.Features, f.Name)
	}
	if id, m, err := l.ResolveManifest(c.Context, lake.KindDataset, activities.ViewDataset(v.Name), "latest"); err == nil {
		s.Extracted, s.Rows = id, m.Rows
	}
	return s, v, nil
}

func featuresList(c *ucli.Context) error {
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	spec, _, err := currentSpec(c, l)
	if err != nil {
		return err
	}
	views := []viewSummary{}
	for _, v := range spec.FeatureViews {
		s, _, err := summarizeView(c, l, spec, v.Name)
		if err != nil {
			return err
		}
		views = append(views, s)
	}
	return p.result(views, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fprintf(tw, "VIEW\tENTITY\tSOURCE\tFEATURES\tEXTRACTED\n")
		for _, v := range views {
			fprintf(tw, "%s\t%s(%s)\t%s\t%d\t%s\n", v.Name, v.Entity, strings.Join(v.JoinKeys, ","), v.Dataset, len(v.Features), orDash(lake.ShortID(v.Extracted)))
		}
		tw.Flush()
	})
}

func featuresShow(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usagef("features show takes one VIEW")
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	spec, specID, err := currentSpec(c, l)
	if err != nil {
		return err
	}
	s, v, err := summarizeView(c, l, spec, c.Args().First())
	if err != nil {
		return err
	}
	out := struct {
		viewSummary
		Spec string             `json:"spec_version"`
		Defs []features.Feature `json:"definitions"`
		TTL  string             `json:"ttl,omitempty"`
	}{s, specID, v.Features, ""}
	if v.TTL > 0 {
		out.TTL = features.FormatWindow(v.TTL)
	}
	return p.result(out, func(w io.Writer) {
		fprintf(w, "view %s (spec %s@%s)\n", s.Name, spec.Project, lake.ShortID(specID))
		fprintf(w, "  entity  %s, join keys %s\n", s.Entity, strings.Join(s.JoinKeys, ", "))
		fprintf(w, "  source  %s (dataset %s)\n", s.Source, s.Dataset)
		if out.TTL != "" {
			fprintf(w, "  ttl     %s\n", out.TTL)
		}
		if s.Extracted != "" {
			fprintf(w, "  latest extraction %s@%s (%d rows)\n", activities.ViewDataset(s.Name), lake.ShortID(s.Extracted), s.Rows)
		} else {
			fprintf(w, "  not extracted yet: granary extract %s --wait\n", s.Name)
		}
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fprintf(tw, "  FEATURE\tDEFINITION\n")
		for _, f := range v.Features {
			def := f.Expr
			if !f.Derived() {
				def = string(f.Agg)
				if f.Column != "" {
					def += "(" + f.Column + ")"
				}
				if f.Window > 0 {
					def += " over " + features.FormatWindow(f.Window)
				}
			}
			fprintf(tw, "  %s\t%s\n", f.Name, def)
		}
		tw.Flush()
	})
}
