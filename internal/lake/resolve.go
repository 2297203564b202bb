package lake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/granaryml/granary/internal/objstore"
)

// MinPrefix is the shortest id prefix accepted as a reference; shorter
// prefixes collide too easily to be safe in scripts.
const MinPrefix = 8

var hexPattern = regexp.MustCompile(`^[0-9a-f]+$`)

// SplitRef parses "NAME[@REF]"; REF defaults to "latest".
func SplitRef(s string) (name, ref string) {
	name, ref, ok := strings.Cut(s, "@")
	if !ok || ref == "" {
		ref = "latest"
	}
	return name, ref
}

// Resolve turns a ref (alias, full id, or unique id prefix of at least
// MinPrefix characters) into a full version id. Aliases win over
// prefixes, so an alias that happens to look like hex still works.
func (l *Lake) Resolve(ctx context.Context, k Kind, name, ref string) (string, error) {
	if err := ValidateName(kindNoun(k), name); err != nil {
		return "", err
	}
	if ValidateName("ref", ref) == nil {
		r, _, err := l.GetRef(ctx, k, name, ref)
		if err == nil {
			return r.Version, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	if !hexPattern.MatchString(ref) || len(ref) < MinPrefix || len(ref) > 64 {
		if !l.exists(ctx, k, name) {
			return "", fmt.Errorf("%w: no %s named %q", ErrNotFound, kindNoun(k), name)
		}
		return "", fmt.Errorf("%w: %s %s has no alias %q (a version id prefix needs at least %d hex characters)", ErrNotFound, kindNoun(k), name, ref, MinPrefix)
	}
	var matches []string
	prefix := versionsPrefix(k, name)
	for o, err := range objstore.All(ctx, l.store, prefix+ref) {
		if err != nil {
			return "", err
		}
		matches = append(matches, strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), ".json"))
		if len(matches) > 1 {
			break
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w: %s %s has no version or alias %q", ErrNotFound, kindNoun(k), name, ref)
	case 1:
		return matches[0], nil
	default:
		return "", fmt.Errorf("%w: %q matches several versions of %s %s; give more characters", ErrAmbiguous, ref, kindNoun(k), name)
	}
}

// ResolveManifest resolves a ref and reads the manifest it names.
func (l *Lake) ResolveManifest(ctx context.Context, k Kind, name, ref string) (string, *Manifest, error) {
	id, err := l.Resolve(ctx, k, name, ref)
	if err != nil {
		return "", nil, err
	}
	m, err := l.GetManifest(ctx, k, name, id)
	return id, m, err
}

func (l *Lake) exists(ctx context.Context, k Kind, name string) bool {
	page, err := l.store.List(ctx, objstore.ListOptions{Prefix: fmt.Sprintf("%s/%s/", k, name), Limit: 1})
	return err == nil && len(page.Objects) > 0
}
