package lake_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
)

// crashBeforeLog loses the next ref-log write, as a mover that dies right
// after its compare-and-swap would.
type crashBeforeLog struct {
	objstore.Store
	armed atomic.Bool
}

var errCrashed = errors.New("mover crashed before writing its log entry")

func (s *crashBeforeLog) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	if strings.Contains(key, "/log/") && s.armed.CompareAndSwap(true, false) {
		return objstore.ObjectInfo{}, errCrashed
	}
	return s.Store.PutIfAbsent(ctx, key, r, size)
}

// A move whose log write was lost is logged later, but credited to the
// mover who made it: not to the next caller who finds the ref there (the
// same target), nor lost when the next caller moves the ref on.
func testRefLogCreditsTheMover(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	v1 := commitVersion(t, l, "orders", "1")
	v2 := commitVersion(t, l, "orders", "2")
	v3 := commitVersion(t, l, "orders", "3")
	crashy := &crashBeforeLog{Store: l.Store()}
	cl := lake.New(crashy)
	move := func(l *lake.Lake, to, by string) (lake.RefMove, error) {
		return l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: to, By: by, Reason: by + "'s reason", Workflow: "wf-" + by})
	}
	if _, err := move(cl, v1, "ana"); err != nil {
		t.Fatal(err)
	}
	crashy.armed.Store(true)
	if _, err := move(cl, v2, "ana"); !errors.Is(err, errCrashed) {
		t.Fatalf("want the simulated crash, got %v", err)
	}
	// Bo wants prod at v2 too: the move is already made, by ana.
	mv, err := move(l, v2, "bo")
	if err != nil {
		t.Fatal(err)
	}
	if mv.By != "ana" || mv.Workflow != "wf-ana" || mv.Seq != 2 || mv.From != v1 {
		t.Fatalf("the existing move should be returned as ana's: %+v", mv)
	}
	wantLog := func(want ...string) {
		t.Helper()
		log, err := l.Log(ctx, lake.KindDataset, "orders")
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != len(want) {
			t.Fatalf("log has %d entries, want %d: %+v", len(log), len(want), log)
		}
		for i, mv := range log {
			if mv.Seq != int64(i+1) || mv.By != want[i] || mv.Reason != want[i]+"'s reason" || mv.Workflow != "wf-"+want[i] {
				t.Fatalf("entry %d = %+v, want move %d by %s", i, mv, i+1, want[i])
			}
		}
	}
	wantLog("ana", "ana")

	// The same crash, then someone moves the ref on: the lost entry is
	// written (ana's), then cy's.
	crashy.armed.Store(true)
	if _, err := move(cl, v1, "ana"); !errors.Is(err, errCrashed) {
		t.Fatalf("want the simulated crash, got %v", err)
	}
	if _, err := move(l, v3, "cy"); err != nil {
		t.Fatal(err)
	}
	wantLog("ana", "ana", "ana", "cy")
}
