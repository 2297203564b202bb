package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/memstore"
	"github.com/granaryml/granary/internal/tabular"
)

// The gc race test runs gc against committers, scratch readers and
// holders on one in-memory store, with every store operation a point
// where a seeded scheduler picks which actor goes next. Each seed is one
// interleaving, reproducible (GRANARY_GC_RACE_SEED=n reruns one); the
// clock is the scheduler's, so blobs can be days old and a sweep's
// budget is measured in scheduler steps.
const envRaceSeeds = "GRANARY_GC_RACE_SEEDS" // default 300; e.g. 20000 for a long run

func TestGCRacesCommitsSafely(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	if v := os.Getenv(envRaceSeeds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number", envRaceSeeds, v)
		}
		seeds = n
	}
	first := uint64(1)
	if v := os.Getenv("GRANARY_GC_RACE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		first, seeds = n, 1
	}
	var total raceStats
	for seed := first; seed < first+uint64(seeds); seed++ {
		st, err := runGCRace(t, seed)
		if err != nil {
			t.Fatalf("seed %d (rerun with GRANARY_GC_RACE_SEED=%d): %v", seed, seed, err)
		}
		total.add(st)
	}
	t.Logf("%d interleavings, %d steps: gc deleted %d blobs, %d deletions hit a blob some actor used; holders waited on a sweep %d times; blobs written again after gc removed them %d times",
		seeds, total.steps, total.deleted, total.deletedUsed, total.sweepWaits, total.recreated)
	// The interleavings must reach the cases the protocol is for, or the
	// test proves nothing.
	if seeds >= 50 && (total.deletedUsed == 0 || total.sweepWaits == 0) {
		t.Fatalf("the interleavings never raced gc against a writer: %+v", total)
	}
}

// The same seed gives the same interleaving, operation for operation.
func TestGCRaceIsDeterministic(t *testing.T) {
	for _, seed := range []uint64{3, 17} {
		a, err := runGCRace(t, seed)
		if err != nil {
			t.Fatal(err)
		}
		b, err := runGCRace(t, seed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range max(len(a.trace), len(b.trace)) {
			if i >= len(a.trace) || i >= len(b.trace) || a.trace[i] != b.trace[i] {
				t.Fatalf("seed %d: two runs differ at operation %d of %d/%d: %q vs %q", seed, i, len(a.trace), len(b.trace), a.trace[min(i, len(a.trace)-1)], b.trace[min(i, len(b.trace)-1)])
			}
		}
	}
}

type raceStats struct {
	steps, deleted, deletedUsed, sweepWaits, recreated int
	trace                                              []string
}

func (s *raceStats) add(o raceStats) {
	s.steps += o.steps
	s.deleted += o.deleted
	s.deletedUsed += o.deletedUsed
	s.sweepWaits += o.sweepWaits
	s.recreated += o.recreated
}

// runGCRace builds a lake whose blobs are all older than the grace
// period, some referenced and most orphaned, then runs concurrently: a gc
// (twice, and on odd seeds a second one beside it), three committers that
// reuse orphans (through PutBlob and spools) and add new blobs, a scratch
// writer that re-puts an orphan and reads it, and a holder. Afterwards every manifest must name only intact
// blobs, every actor must have succeeded (or, for the holder, been told
// its blob was collected before it held it), and every orphan no actor
// touched must be gone.
func runGCRace(t *testing.T, seed uint64) (raceStats, error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	mem := memstore.New(memstore.Options{Now: clock.Now})
	sched := &scheduler{rng: rng, clock: clock, waiting: map[int]chan struct{}{}}
	store := &schedStore{Store: mem, sched: sched, deleted: map[string]bool{}}
	newLake := func() *lake.Lake {
		return lake.NewWithOptions(store, lake.Options{Now: clock.Now, Sleep: func(context.Context, time.Duration) {}, Parallel: 1})
	}
	ctx := t.Context()
	setup := newLake()

	const nOld = 14
	old := make([][]byte, nOld)
	for i := range old {
		old[i] = []byte(fmt.Sprintf("old blob %d of seed %d", i, seed))
		if _, err := setup.PutBlob(ctx, digestOf(old[i]), bytes.NewReader(old[i]), int64(len(old[i]))); err != nil {
			return raceStats{}, err
		}
	}
	// Blobs 0-2 are referenced by a committed version; 3.. are orphans.
	if _, _, err := setup.CommitManifest(ctx, raceManifest("base", old[:3])); err != nil {
		return raceStats{}, err
	}
	clock.Advance(3 * lake.MinGCGrace)

	var mu sync.Mutex
	used := map[lake.Digest]bool{} // every blob an actor relied on
	use := func(d lake.Digest) {
		mu.Lock()
		used[d] = true
		mu.Unlock()
	}
	pick := func(n int) [][]byte { // distinct old blobs, chosen before the run
		idx := rng.Perm(nOld)[:n]
		out := make([][]byte, n)
		for i, j := range idx {
			out[i] = old[j]
		}
		return out
	}
	var committed [3]string
	errs := make([]error, 0, 8)
	record := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}

	// Actors 0 and 1 are gcs: one runs twice, and on odd seeds another
	// runs once beside it.
	var actors []func(context.Context)
	for g, runs := range []int{2, int(seed % 2)} {
		actors = append(actors, func(ctx context.Context) {
			l := newLake()
			for range runs {
				if _, err := l.GC(ctx, lake.GCOptions{Grace: lake.MinGCGrace}); err != nil {
					record(fmt.Errorf("gc %d: %w", g, err))
				}
			}
		})
	}
	for c := range committed {
		blobs := append(pick(3), []byte(fmt.Sprintf("new blob of committer %d", c)))
		viaSpool := make([]bool, len(blobs))
		for i := range viaSpool {
			viaSpool[i] = rng.IntN(2) == 0
		}
		for _, b := range blobs {
			use(digestOf(b))
		}
		actors = append(actors, func(ctx context.Context) {
			l := newLake()
			for i, b := range blobs {
				if err := putRace(ctx, t, l, b, viaSpool[i]); err != nil {
					record(fmt.Errorf("committer %d: put: %w", c, err))
					return
				}
			}
			id, _, err := l.CommitManifest(ctx, raceManifest(fmt.Sprint("c", c), blobs))
			if err != nil {
				record(fmt.Errorf("committer %d: commit: %w", c, err))
				return
			}
			committed[c] = id
		})
	}
	scratch := pick(1)[0]
	use(digestOf(scratch))
	actors = append(actors, func(ctx context.Context) {
		l := newLake()
		d := digestOf(scratch)
		if _, err := l.PutBlob(ctx, d, bytes.NewReader(scratch), int64(len(scratch))); err != nil {
			record(fmt.Errorf("scratch: put: %w", err))
			return
		}
		// A later activity of the same workflow reads what the first one
		// stored (or found stored).
		if err := readBack(ctx, l, d); err != nil {
			record(fmt.Errorf("scratch: read: %w", err))
		}
	})
	held := pick(1)[0]
	actors = append(actors, func(ctx context.Context) {
		l := newLake()
		d := digestOf(held)
		err := l.HoldBlobs(ctx, d)
		if errors.Is(err, lake.ErrCollected) {
			return // gc got there first; the holder was told so
		}
		if err != nil {
			record(fmt.Errorf("holder: %w", err))
			return
		}
		use(d)
		if err := readBack(ctx, l, d); err != nil {
			record(fmt.Errorf("holder: read after a successful hold: %w", err))
		}
	})

	sched.run(ctx, actors)
	st := raceStats{steps: sched.steps, trace: store.trace, sweepWaits: store.sweepWaits, recreated: store.recreated}
	for _, err := range errs {
		if err != nil {
			return st, err
		}
	}

	check := newLake()
	for o, err := range objstore.All(ctx, mem, "datasets/") {
		if err != nil {
			return st, err
		}
		name, id, _ := strings.Cut(strings.TrimPrefix(o.Key, "datasets/"), "/versions/")
		m, err := check.GetManifest(ctx, lake.KindDataset, name, strings.TrimSuffix(id, ".json"))
		if err != nil {
			return st, err
		}
		for _, f := range m.Files {
			if err := check.VerifyBlob(ctx, f.Digest); err != nil {
				return st, fmt.Errorf("version %s of %s names a blob gc removed: %w", lake.ShortID(id), name, err)
			}
		}
	}
	for c, id := range committed {
		if id == "" {
			return st, fmt.Errorf("committer %d committed nothing", c)
		}
	}
	for i, b := range old {
		d := digestOf(b)
		_, err := mem.Stat(ctx, lake.BlobKey(d))
		if i >= 3 && !used[d] && !errors.Is(err, objstore.ErrNotFound) {
			return st, fmt.Errorf("orphan %d, which nothing used, survived gc: %v", i, err)
		}
		if store.deleted[lake.BlobKey(d)] {
			st.deleted++
			if used[d] {
				st.deletedUsed++
			}
		}
	}
	return st, nil
}

func raceManifest(name string, blobs [][]byte) *lake.Manifest {
	m := &lake.Manifest{Kind: lake.KindDataset, Name: name, Schema: tabular.Schema{Columns: []tabular.Column{{Name: "x", Type: tabular.String}}}}
	for _, b := range blobs {
		m.Files = append(m.Files, lake.File{Digest: digestOf(b), Rows: 1, Bytes: int64(len(b))})
	}
	return m
}

func putRace(ctx context.Context, t *testing.T, l *lake.Lake, b []byte, viaSpool bool) error {
	if !viaSpool {
		_, err := l.PutBlob(ctx, digestOf(b), bytes.NewReader(b), int64(len(b)))
		return err
	}
	sp, err := lake.NewSpool(t.TempDir(), "race-*")
	if err != nil {
		return err
	}
	defer sp.Close()
	if _, err := sp.Write(b); err != nil {
		return err
	}
	_, _, err = sp.Commit(ctx, l)
	return err
}

func readBack(ctx context.Context, l *lake.Lake, d lake.Digest) error {
	rc, _, err := l.OpenBlob(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	got, _, err := lake.HashReader(rc)
	if err == nil && got != d {
		err = fmt.Errorf("read %s, want %s", got, d)
	}
	return err
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type actorKey struct{}

// scheduler runs one actor at a time: an actor runs until its next store
// operation, then waits until every actor is waiting (or done) and the
// seeded generator picks it. Each pick advances the clock by 1µs-5ms.
type scheduler struct {
	rng     *rand.Rand
	clock   *fakeClock
	mu      sync.Mutex
	running int
	waiting map[int]chan struct{}
	steps   int
}

func (s *scheduler) run(ctx context.Context, actors []func(context.Context)) {
	s.running = len(actors)
	var wg sync.WaitGroup
	for i, a := range actors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.done()
			actx := context.WithValue(ctx, actorKey{}, i)
			s.step(actx) // start one at a time, like every later step
			a(actx)
		}()
	}
	wg.Wait()
}

// step blocks until the scheduler picks the calling actor; calls made
// outside an actor (setup, checks) pass.
func (s *scheduler) step(ctx context.Context) {
	id, ok := ctx.Value(actorKey{}).(int)
	if !ok {
		return
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiting[id] = ch
	s.running--
	s.dispatch()
	s.mu.Unlock()
	<-ch
}

func (s *scheduler) done() {
	s.mu.Lock()
	s.running--
	s.dispatch()
	s.mu.Unlock()
}

func (s *scheduler) dispatch() {
	if s.running > 0 || len(s.waiting) == 0 {
		return
	}
	ids := make([]int, 0, len(s.waiting))
	for id := range s.waiting {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	id := ids[s.rng.IntN(len(ids))]
	ch := s.waiting[id]
	delete(s.waiting, id)
	s.running++
	s.steps++
	s.clock.Advance(time.Duration(1+s.rng.IntN(5000)) * time.Microsecond)
	close(ch)
}

func actorOf(ctx context.Context) int {
	id, ok := ctx.Value(actorKey{}).(int)
	if !ok {
		return -1
	}
	return id
}

// schedStore makes every operation a scheduling point and keeps a trace
// and a few counters of what happened.
type schedStore struct {
	objstore.Store
	sched *scheduler

	mu         sync.Mutex
	trace      []string
	deleted    map[string]bool
	sweepWaits int
	recreated  int
}

// randomTail is the random part of pin and sweep record names; it only
// breaks ties between records made at the same instant, so the trace
// leaves it out.
var randomTail = regexp.MustCompile(`-[0-9a-f]{12}\.json$`)

func (s *schedStore) note(ctx context.Context, op, key string) {
	key = randomTail.ReplaceAllString(key, ".json")
	s.mu.Lock()
	s.trace = append(s.trace, fmt.Sprintf("%d %s %s", actorOf(ctx), op, key))
	s.mu.Unlock()
}

func (s *schedStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	s.sched.step(ctx)
	s.note(ctx, "get", key)
	return s.Store.Get(ctx, key, o)
}

func (s *schedStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	s.sched.step(ctx)
	s.note(ctx, "stat", key)
	return s.Store.Stat(ctx, key)
}

func (s *schedStore) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	s.sched.step(ctx)
	s.note(ctx, "put", key)
	info, err := s.Store.Put(ctx, key, r, size)
	s.wrote(key, err)
	return info, err
}

func (s *schedStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	s.sched.step(ctx)
	s.note(ctx, "put-if-absent", key)
	info, err := s.Store.PutIfAbsent(ctx, key, r, size)
	s.wrote(key, err)
	return info, err
}

func (s *schedStore) wrote(key string, err error) {
	s.mu.Lock()
	if err == nil && s.deleted[key] && strings.HasPrefix(key, lake.BlobsPrefix) {
		s.recreated++
	}
	s.mu.Unlock()
}

func (s *schedStore) CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	s.sched.step(ctx)
	s.note(ctx, "cas", key)
	return s.Store.CompareAndSwap(ctx, key, etag, r, size)
}

func (s *schedStore) List(ctx context.Context, o objstore.ListOptions) (objstore.ListPage, error) {
	s.sched.step(ctx)
	s.note(ctx, "list", o.Prefix)
	page, err := s.Store.List(ctx, o)
	// A holder (any actor but the gcs, 0 and 1) that finds a sweep under way.
	if err == nil && actorOf(ctx) > 1 && strings.HasPrefix(o.Prefix, "_granary/gc/") && len(page.Objects) > 0 {
		s.mu.Lock()
		s.sweepWaits++
		s.mu.Unlock()
	}
	return page, err
}

func (s *schedStore) Delete(ctx context.Context, key string) error {
	s.sched.step(ctx)
	s.note(ctx, "delete", key)
	err := s.Store.Delete(ctx, key)
	if err == nil {
		s.mu.Lock()
		s.deleted[key] = true
		s.mu.Unlock()
	}
	return err
}
