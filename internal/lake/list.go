package lake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/granaryml/granary/internal/objstore"
)

// NameSummary is one line of `dataset list` / `model list`.
type NameSummary struct {
	Name     string            `json:"name"`
	Versions int               `json:"versions"`
	Refs     map[string]string `json:"refs"`
}

// ListNames returns every dataset (or model) with its version count and
// refs. It walks the kind's keys once, page by page.
func (l *Lake) ListNames(ctx context.Context, k Kind) ([]NameSummary, error) {
	byName := map[string]*NameSummary{}
	var order []string
	prefix := string(k) + "/"
	for o, err := range objstore.All(ctx, l.store, prefix) {
		if err != nil {
			return nil, err
		}
		parts := strings.Split(strings.TrimPrefix(o.Key, prefix), "/")
		if len(parts) < 3 {
			continue
		}
		s := byName[parts[0]]
		if s == nil {
			s = &NameSummary{Name: parts[0], Refs: map[string]string{}}
			byName[parts[0]] = s
			order = append(order, parts[0])
		}
		switch parts[1] {
		case "versions":
			s.Versions++
		case "refs":
			if r, _, err := l.GetRef(ctx, k, parts[0], parts[2]); err == nil {
				s.Refs[parts[2]] = r.Version
			}
		}
	}
	out := make([]NameSummary, 0, len(order))
	for _, n := range order {
		if byName[n].Versions > 0 {
			out = append(out, *byName[n])
		}
	}
	return out, nil
}

// ListVersions returns a name's version ids (lexicographic order).
func (l *Lake) ListVersions(ctx context.Context, k Kind, name string) ([]string, error) {
	var ids []string
	prefix := versionsPrefix(k, name)
	for o, err := range objstore.All(ctx, l.store, prefix) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), ".json"))
	}
	return ids, nil
}

func sortMoves(m []RefMove) {
	slices.SortStableFunc(m, func(a, b RefMove) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := strings.Compare(a.Ref, b.Ref); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
}

// Refs returns one name's refs (alias -> version), reading only that
// name's refs/ prefix.
func (l *Lake) Refs(ctx context.Context, k Kind, name string) (map[string]string, error) {
	if err := ValidateName(kindNoun(k), name); err != nil {
		return nil, err
	}
	refs := map[string]string{}
	prefix := fmt.Sprintf("%s/%s/refs/", k, name)
	for o, err := range objstore.All(ctx, l.store, prefix) {
		if err != nil {
			return nil, err
		}
		alias := strings.TrimPrefix(o.Key, prefix)
		r, _, err := l.GetRef(ctx, k, name, alias)
		if err != nil {
			return nil, err
		}
		refs[alias] = r.Version
	}
	return refs, nil
}
