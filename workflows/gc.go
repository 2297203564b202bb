package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
)

// GCWorkflowName is the registered name of GC.
const GCWorkflowName = "GC"

// GCInput asks to collect the lake's unreferenced blobs.
type GCInput struct {
	activities.GCInput
	// RequestedAt (to the second) names the request: unlike a commit, a gc
	// has no content to derive an id from, and a later gc is new work (new
	// orphans), never an attach to an earlier run. A relaunch of the same
	// request (a script retrying) attaches.
	RequestedAt time.Time `json:"requested_at"`
	User        string    `json:"user,omitempty"`
	Host        string    `json:"host,omitempty"`
}

// GCID is gc/<request time>/<digest of the request>.
func GCID(in GCInput) string {
	at := in.RequestedAt.UTC().Truncate(time.Second)
	b, _ := json.Marshal(struct {
		activities.GCInput
		At time.Time
	}{in.GCInput, at})
	sum := sha256.Sum256(b)
	return fmt.Sprintf("gc/%s/%s", at.Format("20060102T150405Z"), hex.EncodeToString(sum[:])[:8])
}

// GC deletes the lake's unreferenced blobs in one heartbeating activity
// (lake.GC: safe while other workflows run).
func GC(ctx workflow.Context, in GCInput) (activities.GCResult, error) {
	var res activities.GCResult
	if err := tagRun(ctx, "gc", "lake"); err != nil {
		return res, err
	}
	if in.Grace < 0 || (in.Grace < lake.MinGCGrace && !in.Force) {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("gc grace %s is shorter than %s, the longest an activity may rely on a blob it has not committed yet (force it only when no workflow is running)", in.Grace, lake.MinGCGrace), activities.ErrTypeInvalidInput, nil)
	}
	var a *activities.Activities
	err := workflow.ExecuteActivity(scrubIO(ctx), a.GC, in.GCInput).Get(ctx, &res)
	return res, err
}
