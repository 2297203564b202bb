package objstore

import (
	"context"
	"iter"
)

// All iterates every object under prefix, page by page, so callers never
// hold a whole listing in memory.
func All(ctx context.Context, s Store, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		after := ""
		for {
			page, err := s.List(ctx, ListOptions{Prefix: prefix, After: after})
			if err != nil {
				yield(ObjectInfo{}, err)
				return
			}
			for _, o := range page.Objects {
				if !yield(o, nil) {
					return
				}
			}
			if !page.More || len(page.Objects) == 0 {
				return
			}
			after = page.Objects[len(page.Objects)-1].Key
		}
	}
}
