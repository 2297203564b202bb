package crashtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// StepTime is what a workflow's history says about one of its steps
// (every activity of one type).
type StepTime struct {
	Step       string
	Activities int // scheduled
	// Retries counts attempts beyond each activity's first (the server
	// records only an activity's last attempt, with its number).
	Retries int
	// From the workflow's start: the first activity scheduled, the last
	// one closed.
	Begin, End time.Duration
}

// Timeline reads a closed workflow's history and returns its steps in
// the order they began.
func Timeline(ctx context.Context, c client.Client, workflowID string) ([]StepTime, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var (
		start   time.Time
		steps   []*StepTime
		byName  = map[string]*StepTime{}
		byEvent = map[int64]*StepTime{} // scheduled event id -> step
	)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		at := e.GetEventTime().AsTime()
		if start.IsZero() {
			start = at
		}
		switch e.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			s := byName[name]
			if s == nil {
				s = &StepTime{Step: name, Begin: at.Sub(start)}
				byName[name] = s
				steps = append(steps, s)
			}
			s.Activities++
			byEvent[e.GetEventId()] = s
		case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := e.GetActivityTaskStartedEventAttributes()
			if s := byEvent[a.GetScheduledEventId()]; s != nil && a.GetAttempt() > 1 {
				s.Retries += int(a.GetAttempt()) - 1
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if s := byEvent[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; s != nil {
				s.End = max(s.End, at.Sub(start))
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if s := byEvent[e.GetActivityTaskFailedEventAttributes().GetScheduledEventId()]; s != nil {
				s.End = max(s.End, at.Sub(start))
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if s := byEvent[e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]; s != nil {
				s.End = max(s.End, at.Sub(start))
			}
		}
	}
	out := make([]StepTime, len(steps))
	for i, s := range steps {
		out[i] = *s
	}
	slices.SortStableFunc(out, func(a, b StepTime) int { return int(a.Begin - b.Begin) })
	return out, nil
}

// String is e.g. "SortShard ×8 1.20s (2.31–3.51s) 2 retries".
func (s StepTime) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ×%d %.2fs (%.2f–%.2fs)", s.Step, s.Activities, (s.End - s.Begin).Seconds(), s.Begin.Seconds(), s.End.Seconds())
	if s.Retries > 0 {
		fmt.Fprintf(&b, " %d retries", s.Retries)
	}
	return b.String()
}

// FormatTimeline is one line per step.
func FormatTimeline(steps []StepTime) string {
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = s.String()
	}
	return strings.Join(lines, "\n")
}

// Typical maps every step of an uninterrupted run's timeline to its
// duration (see Spread).
func Typical(steps []StepTime) map[string]time.Duration {
	m := make(map[string]time.Duration, len(steps))
	for _, s := range steps {
		m[s.Step] = s.End - s.Begin
	}
	return m
}
