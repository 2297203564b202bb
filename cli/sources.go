package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

// envAllowedEndpoints extends the endpoints import sources may be read from
// (comma separated host:port), for workers and, as a fast pre-check, for
// the CLI.
const envAllowedEndpoints = "GRANARY_ALLOWED_ENDPOINTS"

// allowEndpointFlag is the worker's (and granary dev's) allowlist of S3
// endpoints for import sources, besides the lake's own.
func allowEndpointFlag() ucli.Flag {
	return &ucli.StringSliceFlag{
		Name:    "allow-endpoint",
		Usage:   "also read s3:// import sources from `HOST:PORT` (repeatable; the lake's own endpoint is always allowed, any other is refused before a request is sent)",
		EnvVars: []string{envAllowedEndpoints},
	}
}

// sourceAllowlist is the lake's own endpoint (none for a directory lake)
// plus extra.
func sourceAllowlist(lakeURL string, extra []string) (storeurl.Allowlist, error) {
	own, err := storeurl.Endpoint(lakeURL)
	if err != nil {
		return storeurl.Allowlist{}, fmt.Errorf("--lake: %w", err)
	}
	a, err := storeurl.NewAllowlist(append([]string{own}, extra...)...)
	if err != nil {
		return storeurl.Allowlist{}, fmt.Errorf("--allow-endpoint: %w", err)
	}
	return a, nil
}

// resolveRemoteSource pins a lake:KEY or s3:// input to the object it
// names now (ETag and size). They go into the import's workflow id, so an
// overwritten object is a new import rather than an attach to the old
// one, and the worker refuses to stage any other object under that id.
// Bad URLs — credentials in them above all — fail here, before anything
// reaches a workflow payload and Temporal's history.
func resolveRemoteSource(ctx context.Context, c *ucli.Context, l *lake.Lake, arg string) (activities.Source, error) {
	src := activities.Source{Name: arg, URL: arg}
	store, key := l.Store(), ""
	if k, ok := strings.CutPrefix(arg, "lake:"); ok {
		if err := objstore.ValidateKey(k); err != nil {
			return src, fmt.Errorf("input %s: %w", arg, err)
		}
		key = k
	} else {
		obj, err := storeurl.ParseObject(arg)
		if err != nil {
			return src, fmt.Errorf("input: %w", err)
		}
		// The workers decide, with their own list; this is the same rule
		// with what the CLI knows, to fail before starting anything.
		allowed, err := sourceAllowlist(c.String(flagLake), strings.Split(os.Getenv(envAllowedEndpoints), ","))
		if err != nil {
			return src, err
		}
		if err := allowed.Check(obj); err != nil {
			return src, fmt.Errorf("input %s: %w", arg, err)
		}
		if store, err = storeurl.Open(ctx, obj.Store); err != nil {
			return src, fmt.Errorf("input %s: %w", arg, err)
		}
		key = obj.Key
	}
	info, err := store.Stat(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return src, fmt.Errorf("input %s: no such object", arg)
	}
	if err != nil {
		return src, fmt.Errorf("input %s: %w", arg, err)
	}
	if info.ETag == "" {
		return src, fmt.Errorf("input %s: the store gave no ETag, so a change to the object could not be told apart", arg)
	}
	src.ETag, src.Bytes = info.ETag, info.Size
	return src, nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
