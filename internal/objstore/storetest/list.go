package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// Keys whose byte order differs from a naive directory walk: '-' and '.'
// sort before '/', so "o/a-b" comes before "o/a/b" although the folder "o/a"
// sorts before the name "o/a-b".
var orderKeys = []string{
	"o/A", "o/a-b", "o/a.b", "o/a/b", "o/a/c/d", "o/a0", "o/aa", "o/a~", "o/b", "o/é", "p",
}

func testListOrder(t *testing.T, s objstore.Store) {
	for _, k := range orderKeys {
		put(t, s, k, k)
	}
	sorted := slices.Sorted(slices.Values(orderKeys))
	tests := []struct {
		prefix, after string
		limit         int
	}{
		{"", "", 0},
		{"o/", "", 0},
		{"o/a", "", 0}, // mid-segment: matches "o/a-b" and "o/a/b" alike
		{"o/a/", "", 0},
		{"o/a/c", "", 0},
		{"o/a/c/", "", 0},
		{"o/a/c/d", "", 0}, // a whole key is also a prefix
		{"o/z", "", 0},
		{"nothing/here/", "", 0},
		{"", "o/a-b", 0},
		{"", "o/a/", 0}, // after a "folder" name that is not a key
		{"", "o/a/b", 0},
		{"o/", "o/a/bz", 0},
		{"", "o", 0},
		{"o/a", "o/a/c/d", 0},
		{"", "zzz", 0},
		{"", "", 3},
		{"o/a", "o/a-b", 2},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("prefix=%q,after=%q,limit=%d", tc.prefix, tc.after, tc.limit), func(t *testing.T) {
			var want []string
			for _, k := range sorted {
				if strings.HasPrefix(k, tc.prefix) && k > tc.after {
					want = append(want, k)
				}
			}
			wantMore := false
			if tc.limit > 0 && len(want) > tc.limit {
				want, wantMore = want[:tc.limit], true
			}
			page, err := s.List(t.Context(), objstore.ListOptions{Prefix: tc.prefix, After: tc.after, Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(page.Objects); !slices.Equal(got, want) || page.More != wantMore {
				t.Fatalf("List = %q (more %v), want %q (more %v)", got, page.More, want, wantMore)
			}
			for _, o := range page.Objects {
				if o.Size != int64(len(o.Key)) || o.ETag == "" {
					t.Errorf("listed %+v: want size %d and an ETag", o, len(o.Key))
				}
			}
		})
	}
}

const listKeys = 2500

func testListPagination(t *testing.T, s objstore.Store) {
	var all []string
	for i := range listKeys {
		k := fmt.Sprintf("big/%02d/%04d", i%40, i)
		if i%5 == 0 {
			k = fmt.Sprintf("big/%02d/sub/%04d", i%40, i)
		}
		all = append(all, k)
	}
	put(t, s, "bigger", "outside the prefix")
	put(t, s, "bi", "outside the prefix")
	start := time.Now()
	putAll(t, s, all)
	t.Logf("wrote %d keys in %v", listKeys, time.Since(start).Round(time.Millisecond))
	slices.Sort(all)

	for _, tc := range []struct {
		prefix string
		limit  int
	}{
		{"big/", 1000},
		{"big/", 7},
		{"big", objstore.DefaultListLimit + 1}, // also matches "bigger"
		{"big/1", 1000},                        // mid-segment: folders 10..19
		{"big/07/sub/", 100},
		{"big/4", 10}, // no folder starts with 4
	} {
		t.Run(fmt.Sprintf("prefix=%q,limit=%d", tc.prefix, tc.limit), func(t *testing.T) {
			var want []string
			for _, k := range append(slices.Clone(all), "bi", "bigger") {
				if strings.HasPrefix(k, tc.prefix) {
					want = append(want, k)
				}
			}
			slices.Sort(want)
			start := time.Now()
			var got []string
			after, pages := "", 0
			for {
				page, err := s.List(t.Context(), objstore.ListOptions{Prefix: tc.prefix, After: after, Limit: tc.limit})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Objects) > tc.limit {
					t.Fatalf("page of %d objects exceeds limit %d", len(page.Objects), tc.limit)
				}
				got = append(got, keysOf(page.Objects)...)
				if !page.More || len(page.Objects) == 0 {
					break
				}
				after = page.Objects[len(page.Objects)-1].Key
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged listing returned %d keys, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
			t.Logf("listed %d keys in %d pages in %v", len(got), pages, time.Since(start).Round(time.Millisecond))

			var viaAll []string
			for o, err := range objstore.All(t.Context(), s, tc.prefix) {
				if err != nil {
					t.Fatal(err)
				}
				viaAll = append(viaAll, o.Key)
			}
			if !slices.Equal(viaAll, want) {
				t.Fatalf("objstore.All returned %d keys, want %d", len(viaAll), len(want))
			}
		})
	}
}

// putAll writes keys (content = key) with a few writers in parallel:
// thousands of sequential round trips would dominate a networked backend's
// test time.
func putAll(t *testing.T, s objstore.Store, keys []string) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if _, err := s.Put(t.Context(), k, strings.NewReader(k), int64(len(k))); err != nil {
					t.Errorf("Put(%q): %v", k, err)
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func keysOf(objs []objstore.ObjectInfo) []string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
