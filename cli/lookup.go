package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/client"
	"github.com/granaryml/granary/internal/lake"
)

type lookupOutput struct {
	*client.FeatureVector
	Model *client.ModelAlias `json:"model,omitempty"`
}

func lookupCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "lookup",
		Usage:     "ask granary serve for one entity's features (and a model alias), as a web service would",
		ArgsUsage: "VIEW KEY=VALUE...",
		Description: `Calls a running granary serve through the Go client (package client):
GET /v1/features/VIEW?KEY=VALUE..., and with --model NAME@ALIAS also
GET /v1/models/NAME/aliases/ALIAS. Prints the values with the version they
came from. The token is --token, GRANARY_SERVE_TOKEN, or the file
granary dev writes (<state>/serve-token).

Examples:
   granary lookup user_orders user_id=42
   granary lookup user_orders user_id=42 --version prod --model churn@prod
   granary lookup user_orders user_id=42 --output json | jq .features`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "url", Value: "http://" + DefaultServeAddr, Usage: "serving base `URL`", EnvVars: []string{"GRANARY_SERVE_URL"}},
			&ucli.StringFlag{Name: "token", Usage: "bearer `TOKEN`", EnvVars: []string{"GRANARY_SERVE_TOKEN"}},
			&ucli.StringFlag{Name: "token-file", Value: filepath.Join(DefaultStateDir, "serve-token"), Usage: "read the token from `FILE` when --token is not set"},
			&ucli.StringFlag{Name: "version", Usage: "serving index alias or version `REF` (default latest)"},
			&ucli.StringFlag{Name: "model", Usage: "also look up model alias `NAME@ALIAS`"},
			&ucli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "per-request `DURATION`"},
		},
		Action: runLookup,
	}
}

func runLookup(c *ucli.Context) error {
	if c.NArg() < 2 {
		return usagef("lookup takes a VIEW and at least one KEY=VALUE")
	}
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	key := client.Key{}
	for _, kv := range c.Args().Slice()[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("%q: keys are given as KEY=VALUE", kv)
		}
		key[k] = v
	}
	token := c.String("token")
	if token == "" {
		if b, err := os.ReadFile(c.String("token-file")); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	cl, err := client.New(c.String("url"), client.Options{Token: token, Timeout: c.Duration("timeout")})
	if err != nil {
		return err
	}
	var opts []client.ReadOption
	if v := c.String("version"); v != "" {
		opts = append(opts, client.Version(v))
	}
	view := c.Args().First()
	fv, err := cl.GetFeatures(c.Context, view, key, opts...)
	if err != nil {
		return fmt.Errorf("lookup %s: %w", view, err)
	}
	out := lookupOutput{FeatureVector: fv}
	if m := c.String("model"); m != "" {
		name, alias := lake.SplitRef(m)
		if out.Model, err = cl.ModelAlias(c.Context, name, alias); err != nil {
			return fmt.Errorf("model %s: %w", m, err)
		}
	}
	return p.result(out, func(w io.Writer) {
		fprintf(w, "%s@%s (as of %s, view version %s)\n", fv.View, lake.ShortID(fv.Version), fv.AsOf.Format(time.RFC3339), lake.ShortID(fv.ViewVersion))
		var ent []string
		for k, v := range fv.Entity {
			ent = append(ent, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(ent)
		fprintf(w, "  entity %s\n", strings.Join(ent, " "))
		names := make([]string, 0, len(fv.Features))
		for k := range fv.Features {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := fv.Features[k]
			if v == nil {
				v = "null"
			}
			fprintf(w, "  %-16s %v\n", k, v)
		}
		if out.Model != nil {
			fprintf(w, "model %s@%s -> %s", out.Model.Model, out.Model.Alias, lake.ShortID(out.Model.Version))
			if a := out.Model.Artifact; a != nil {
				fprintf(w, " (%s, %s, %s)", a.Digest, counted(a.Files, "file"), humanBytes(a.Bytes))
			}
			fprintf(w, "\n")
		}
	})
}
