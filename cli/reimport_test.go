package cli_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

// reimportJSON is what these tests read of `dataset import --output json`.
type reimportJSON struct {
	Version        string
	Rows           int64
	Attached       bool
	WorkflowID     string `json:"workflow_id"`
	RefsWorkflowID string `json:"refs_workflow_id"`
	Moves          []struct{ Ref, From, To string }
}

// cliRunner runs the CLI against a stack and fails the test on a non-zero
// exit.
func cliRunner(t *testing.T, st stack) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
}

// resolveRef reads where a ref points, straight from the lake.
func resolveRef(t *testing.T, store objstore.Store, kind lake.Kind, name, ref string) string {
	t.Helper()
	id, err := lake.New(store).Resolve(t.Context(), kind, name, ref)
	if err != nil {
		t.Fatalf("%s@%s: %v", name, ref, err)
	}
	return id
}

func openLakeStore(t *testing.T, lakeURL string) objstore.Store {
	t.Helper()
	store, err := storeurl.Open(t.Context(), lakeURL)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// TestReimportOfAnOverwrittenLakeObjectImportsIt: the id of a lake:KEY
// import comes from the object's ETag and size, so once the key is
// overwritten a re-import is new work that imports the new bytes, and an
// unchanged object still attaches.
func TestReimportOfAnOverwrittenLakeObjectImportsIt(t *testing.T) {
	st := startStack(t)
	run := cliRunner(t, st)
	store := openLakeStore(t, st.lake)
	put := func(content string) {
		t.Helper()
		if _, err := store.Put(t.Context(), "drop/events.csv", strings.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
	}
	put("id,v\n1,a\n")
	first := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "events", "lake:drop/events.csv", "--wait"))
	put("id,v\n1,a\n2,b\n")
	second := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "events", "lake:drop/events.csv", "--wait"))
	if second.Attached || second.Version == first.Version || second.Rows != 2 {
		t.Fatalf("a re-import after the object changed must import the new object: first %+v, second %+v", first, second)
	}
	if got := resolveRef(t, store, lake.KindDataset, "events", "latest"); got != second.Version {
		t.Fatalf("latest = %s, want the new version %s", got, second.Version)
	}
	third := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "events", "lake:drop/events.csv", "--wait"))
	if !third.Attached || third.Version != second.Version || third.RefsWorkflowID != "" {
		t.Fatalf("an unchanged object must attach to its import and move nothing: %+v", third)
	}
}

// TestReimportABALeavesRefsOnA: import A, then B, then A again. The third
// import attaches to the first run (same inputs, same version) and must
// still leave latest and its tag on A, through a RepointRefs run that
// shows in `runs list`. Two racing re-imports of A move each ref once.
func TestReimportABALeavesRefsOnA(t *testing.T) {
	st := startStack(t)
	run := cliRunner(t, st)
	store := openLakeStore(t, st.lake)
	a := writeFile(t, "a.csv", "id,v\n1,a\n")
	b := writeFile(t, "b.csv", "id,v\n2,b\n")
	importJSON := func(path string) reimportJSON {
		t.Helper()
		return mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "d", path, "--tag", "prod", "--wait"))
	}
	vA := importJSON(a)
	vB := importJSON(b)
	again := importJSON(a)
	if !again.Attached || again.WorkflowID != vA.WorkflowID || again.Version != vA.Version {
		t.Fatalf("the third import should attach to the first: %+v vs %+v", again, vA)
	}
	if !strings.HasPrefix(again.RefsWorkflowID, "refs/datasets/d/") {
		t.Fatalf("refs overtaken by B must be moved again by a RepointRefs run: %+v", again)
	}
	for _, ref := range []string{"latest", "prod"} {
		if got := resolveRef(t, store, lake.KindDataset, "d", ref); got != vA.Version {
			t.Fatalf("after A, B, A: %s = %s, want A %s (B is %s)", ref, got, vA.Version, vB.Version)
		}
	}
	if len(again.Moves) != 2 || again.Moves[0].From != vB.Version || again.Moves[0].To != vA.Version || again.Moves[1].To != vA.Version {
		t.Fatalf("the output must report the moves made now: %+v", again.Moves)
	}
	code, text, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "dataset", "import", "d", a, "--tag", "prod", "--wait")...)
	if code != 0 || !strings.Contains(text, "already imported by "+vA.WorkflowID) || strings.Contains(text, "moved again") || !strings.Contains(text, "latest -> "+lake.ShortID(vA.Version)) {
		t.Fatalf("with the refs already on A nothing is moved: exit %d\n%s%s", code, text, errOut)
	}

	// Racing re-imports of A after B (itself a re-import, so its refs are
	// moved back too): one move of each ref to A, not two.
	if back := importJSON(b); back.RefsWorkflowID == "" || resolveRef(t, store, lake.KindDataset, "d", "latest") != vB.Version {
		t.Fatalf("re-importing B must move the refs to B: %+v", back)
	}
	var wg sync.WaitGroup
	results := make([]reimportJSON, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "--output", "json", "dataset", "import", "d", a, "--tag", "prod", "--wait")...)
			if code != 0 {
				t.Errorf("racing re-import: exit %d: %s", code, errOut)
				return
			}
			results[i] = mustJSON[reimportJSON](t, out)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if got := resolveRef(t, store, lake.KindDataset, "d", "latest"); got != vA.Version {
		t.Fatalf("after racing re-imports of A, latest = %s", got)
	}
	log, err := lake.New(store).Log(t.Context(), lake.KindDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	repointed := map[string]int{}
	for _, mv := range log {
		if strings.HasPrefix(mv.Workflow, "refs/") && mv.To == vA.Version {
			repointed[mv.Ref]++
		}
	}
	if repointed["latest"] != 2 || repointed["prod"] != 2 {
		t.Fatalf("each ref must be moved back to A once per time B overtook it (2), got %v in log %+v", repointed, log)
	}

	// The move is a run like any other commit.
	deadline := time.Now().Add(20 * time.Second) // visibility is eventually consistent
	for {
		runs := mustJSON[[]struct {
			WorkflowID string `json:"workflow_id"`
			Name       string
			Status     string
			Version    string
		}](t, run("--output", "json", "runs", "list", "--kind", "refs", "--name", "d"))
		toA := 0
		for _, r := range runs {
			if r.Status == "completed" && r.Version == vA.Version && strings.HasPrefix(r.WorkflowID, "refs/datasets/d/") {
				toA++
			}
		}
		if len(runs) == 3 && toA == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --kind refs should show the three RepointRefs runs, two of them to A: %+v", runs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestRelaunchesABALeaveRefsOnA: the same for the feature commands whose
// runs move refs: extract (view latest) and materialize --alias (serving
// index latest and alias).
func TestRelaunchesABALeaveRefsOnA(t *testing.T) {
	st := startStack(t)
	run := cliRunner(t, st)
	store := openLakeStore(t, st.lake)
	header := "order_id,user_id,event_time,amount,category\n"
	ordersA := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "orders", writeFile(t, "a.csv", header+"1,1,2024-01-01T10:00:00Z,10,books\n2,2,2024-01-02T10:00:00Z,5,toys\n"), "--wait")).Version
	ordersB := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "orders", writeFile(t, "b.csv", header+"1,1,2024-01-01T10:00:00Z,10,books\n3,3,2024-01-05T10:00:00Z,8,toys\n"), "--wait")).Version
	specPath, _ := filepath.Abs(filepath.Join("..", "examples", "shop", "features.yaml"))
	run("features", "apply", specPath)

	type launchJSON struct {
		Version        string
		Attached       bool
		RefsWorkflowID string `json:"refs_workflow_id"`
	}
	extract := func(source string) launchJSON {
		t.Helper()
		return mustJSON[launchJSON](t, run("--output", "json", "extract", "user_orders", "--source", "orders@"+source, "--shards", "2", "--wait"))
	}
	viewA, viewB := extract(ordersA), extract(ordersB)
	again := extract(ordersA)
	if !again.Attached || again.Version != viewA.Version || again.RefsWorkflowID == "" {
		t.Fatalf("re-extracting A after B must attach and move latest back: %+v", again)
	}
	if got := resolveRef(t, store, lake.KindDataset, "view.user_orders", "latest"); got != viewA.Version {
		t.Fatalf("after extracting A, B, A the view's latest = %s, want A %s (B %s)", got, viewA.Version, viewB.Version)
	}

	materialize := func(view string) launchJSON {
		t.Helper()
		return mustJSON[launchJSON](t, run("--output", "json", "materialize", "user_orders", "--version", view, "--alias", "prod", "--wait"))
	}
	indexA, indexB := materialize(viewA.Version), materialize(viewB.Version)
	if indexA.Version == indexB.Version {
		t.Fatal("two view versions gave one index; the test needs two")
	}
	back := materialize(viewA.Version)
	if !back.Attached || back.Version != indexA.Version || back.RefsWorkflowID == "" {
		t.Fatalf("re-materializing A after B must attach and move the aliases back: %+v", back)
	}
	for _, ref := range []string{"latest", "prod"} {
		if got := resolveRef(t, store, lake.KindIndex, "user_orders", ref); got != indexA.Version {
			t.Fatalf("after materializing A, B, A --alias prod: index %s = %s, want A %s", ref, got, indexA.Version)
		}
	}
}

// TestImportSourceURLsAreCheckedBeforeAnythingStarts: credentials in a
// source URL and endpoints off the allowlist fail in the CLI, before it
// dials Temporal (here: nothing listens there) and before any request to
// the endpoint, and the error never repeats a secret.
func TestImportSourceURLsAreCheckedBeforeAnythingStarts(t *testing.T) {
	addr, connections := devtest.CountingListener(t)
	const secret = "wJalrXUtnFEMI-K7MDENG"
	internal := addr
	t.Setenv("GRANARY_ALLOWED_ENDPOINTS", "")
	for _, tc := range []struct{ url, want string }{
		{"s3://AKIAEXAMPLE:" + secret + "@raw/e.csv?endpoint=" + internal + "&secure=false", "credentials must come from the environment"},
		{"s3://raw/e.csv?endpoint=" + internal + "&secure=false&X-Amz-Credential=AKIA&X-Amz-Signature=" + secret, "credentials must come from the environment"},
		{"s3://raw/e.csv?endpoint=" + internal + "&secure=false", internal + " is not an endpoint import sources may be read from"},
		{"s3://latest/meta-data?endpoint=169.254.169.254&secure=false", "169.254.169.254:80 is not an endpoint"},
	} {
		code, out, errOut := runCLI(t, t.Context(), "--temporal-address", "127.0.0.1:1", "--lake", "file://"+t.TempDir(), "dataset", "import", "d", tc.url, "--wait")
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("import %s: exit %d, stderr %q; want it to say %q", tc.url, code, errOut, tc.want)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("the secret leaked into the output: %q", out+errOut)
		}
		if strings.Contains(errOut, "Temporal") {
			t.Errorf("the URL must be refused before dialing Temporal: %q", errOut)
		}
	}
	if n := connections(); n != 0 {
		t.Fatalf("the CLI connected %d times to an endpoint that is not allowed", n)
	}
}

// TestReimportOfAnOverwrittenS3ObjectImportsIt is the s3:// case on a real
// MinIO: the source lives in another bucket on the lake's own endpoint
// (the one a worker allows by default); overwriting it makes a re-import
// import the new object.
func TestReimportOfAnOverwrittenS3ObjectImportsIt(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	m := devtest.Minio(t)
	for _, bucket := range []string{"lake", "raw"} {
		if err := m.EnsureBucket(t.Context(), bucket); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey())
	st := startStackOn(t, fmt.Sprintf("s3://lake/l?endpoint=%s&secure=false", m.Endpoint()))
	run := cliRunner(t, st)
	raw := openLakeStore(t, fmt.Sprintf("s3://raw?endpoint=%s&secure=false", m.Endpoint()))
	put := func(content string) {
		t.Helper()
		if _, err := raw.Put(t.Context(), "events.csv", strings.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf("s3://raw/events.csv?endpoint=%s&secure=false", m.Endpoint())
	put("id,v\n1,a\n")
	first := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "events", src, "--wait"))
	put("id,v\n1,a\n2,b\n3,c\n")
	second := mustJSON[reimportJSON](t, run("--output", "json", "dataset", "import", "events", src, "--wait"))
	if second.Attached || second.Version == first.Version || second.Rows != 3 {
		t.Fatalf("a re-import after the object changed must import the new object: first %+v, second %+v", first, second)
	}
	if got := resolveRef(t, openLakeStore(t, st.lake), lake.KindDataset, "events", "latest"); got != second.Version {
		t.Fatalf("latest = %s, want %s", got, second.Version)
	}
}
