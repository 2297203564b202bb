package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

// refTarget names the refs a launching command's run moves when it
// commits its version.
type refTarget struct {
	kind   lake.Kind
	name   string
	refs   []string
	reason string
}

// settled is what settleRefs did: the moves that are true now, and the
// run that made them when the attached run's own were overtaken.
type settled struct {
	Moves      []lake.RefMove
	WorkflowID string
	RunID      string
	Notified   []string
}

// settleRefs makes the ref moves of an attached run true when the command
// returns. Attaching reuses a run launched with the same inputs — its
// version is the right one — but its ref moves happened then, and the refs
// may have moved on since (import A, import B, import A again). If any ref
// is elsewhere now, a RepointRefs run moves them back; its id comes from
// the refs' current state, so launches that saw the same state share one
// run and a move is made once, while a later launch is never answered by
// that run. With every ref in place, nothing runs and moves stay as the
// attached run reported them.
func settleRefs(c *ucli.Context, tc client.Client, l *lake.Lake, p printer, run startedRun, t refTarget, version string, moves []lake.RefMove) (settled, error) {
	out := settled{Moves: moves}
	if !run.Attached || version == "" {
		return out, nil
	}
	in := workflows.RepointRefsInput{Kind: t.kind, Name: t.name, Version: version, Repeats: run.GetID(),
		Reason: t.reason + " (again: same inputs as " + run.GetID() + ")", User: currentUser(), Host: hostname()}
	var stale []string
	for _, ref := range t.refs {
		r, _, err := l.GetRef(c.Context, t.kind, t.name, ref)
		if err != nil && !errors.Is(err, lake.ErrNotFound) {
			return out, err
		}
		in.Refs = append(in.Refs, workflows.RefState{Ref: ref, Seq: r.Seq, Version: r.Version})
		if r.Version != version {
			stale = append(stale, ref)
		}
	}
	if len(stale) == 0 {
		return out, nil
	}
	id := workflows.RepointRefsID(in)
	rrun, err := startOrAttach(c.Context, tc, id, workflows.RepointRefsWorkflowName, in)
	if err != nil {
		return out, err
	}
	url := runURL(c, rrun.GetID(), rrun.GetRunID())
	p.infof("%s moved on since %s; pointing it at %s again (%s)\n", strings.Join(stale, ", "), run.GetID(), lake.ShortID(version), rrun.GetID())
	var res workflows.RepointRefsResult
	if err := rrun.Get(c.Context, &res); err != nil {
		return out, runFailed(fmt.Sprintf("moving %s of %s to %s", strings.Join(stale, ", "), t.name, lake.ShortID(version)), url, err)
	}
	return settled{Moves: res.Moves, WorkflowID: rrun.GetID(), RunID: rrun.GetRunID(), Notified: res.Notified}, nil
}

// printRefsAgain shows, for commands that do not list their ref moves,
// that an attached run's refs had to be moved again, and where they are.
func printRefsAgain(w io.Writer, r runRef, moves []lake.RefMove) {
	if r.RefsWorkflowID == "" {
		return
	}
	for _, mv := range moves {
		fprintf(w, "  %s -> %s (moved again by %s)\n", mv.Ref, lake.ShortID(mv.To), r.RefsWorkflowID)
	}
}
