package cli_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// Serving tokens of the tests: 32 characters and more, as serve demands.
var (
	tokA = strings.Repeat("a7", 16)
	tokB = strings.Repeat("b8", 20)
)

// TestMaterializeAndServeEndToEnd runs the serving story on a real
// Temporal dev server: import, apply, extract, materialize, serve; then
// a training build on a spine of every user at the index's time must hold
// exactly the values the HTTP API serves.
func TestMaterializeAndServeEndToEnd(t *testing.T) {
	st := startStack(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var ob strings.Builder
	ob.WriteString("order_id,user_id,event_time,amount,category\n")
	cats := []string{"books", "toys", `"music, vinyl"`}
	for i := range 600 {
		fmt.Fprintf(&ob, "%d,%d,%s,%d,%s\n", i, 1+rng.IntN(40), base.Add(time.Duration(rng.IntN(60*24*60))*time.Minute).Format(time.RFC3339), rng.IntN(100)-10, cats[rng.IntN(3)])
	}
	run("dataset", "import", "orders", writeFile(t, "orders.csv", ob.String()), "--wait")
	specPath, _ := filepath.Abs(filepath.Join("..", "examples", "shop", "features.yaml"))
	run("features", "apply", specPath)

	code, _, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "materialize", "user_orders", "--wait")...)
	if code != 1 || !strings.Contains(errOut, "granary extract user_orders") {
		t.Fatalf("materializing before extracting must say what to run: exit %d, %s", code, errOut)
	}
	run("extract", "user_orders", "--shards", "3", "--wait")
	type matJSON struct {
		Version, View    string
		AsOf             string `json:"as_of"`
		Entities         int64
		Features, Shards int
		Attached         bool
		WorkflowID       string `json:"workflow_id"`
	}
	mat := mustJSON[matJSON](t, run("--output", "json", "materialize", "user_orders", "--alias", "prod", "--wait"))
	if mat.View != "user_orders" || mat.Features != 5 || mat.Shards != 3 || mat.Entities == 0 || !strings.HasPrefix(mat.WorkflowID, "materialize/user_orders/") {
		t.Fatalf("unexpected materialization %+v", mat)
	}
	again := mustJSON[matJSON](t, run("--output", "json", "materialize", "user_orders", "--alias", "prod", "--wait"))
	if !again.Attached || again.Version != mat.Version {
		t.Fatalf("an identical materialization must attach: %+v", again)
	}

	// Serve it.
	t.Setenv("GRANARY_SERVE_TOKENS", "web:"+tokA+", "+tokB)
	url := startServe(t, st.lake, "--poll", "200ms")

	// A training build at the index's time, on every user (41..45 have
	// no orders).
	var lb strings.Builder
	lb.WriteString("user_id,event_timestamp,churned\n")
	for u := 1; u <= 45; u++ {
		fmt.Fprintf(&lb, "%d,%s,false\n", u, mat.AsOf)
	}
	run("dataset", "import", "churn_labels", writeFile(t, "labels.csv", lb.String()), "--wait")
	run("build", "churn", "--wait")
	csvDir := t.TempDir()
	run("dataset", "export", "training.churn", "--out", csvDir, "--format", "csv")
	parts, _ := filepath.Glob(filepath.Join(csvDir, "*.csv"))
	features := []string{"orders_7d", "spend_30d", "max_30d", "last_cat", "avg_order"}
	compared, missing := 0, 0
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, r := range recs[1:] {
			user := r[col["user_id"]]
			status, body := get(t, url+"/v1/features/user_orders?user_id="+user+"&version=prod", tokB)
			if status == http.StatusNotFound {
				// Only users without any kept order are absent, and their
				// build row has no values either.
				missing++
				if r[col["user_orders__orders_7d"]] != "0" || r[col["user_orders__last_cat"]] != "" {
					t.Errorf("user %s is not served but the build has values %v", user, r)
				}
				continue
			}
			var resp struct {
				Version  string
				Features map[string]json.RawMessage
			}
			if err := json.Unmarshal(body, &resp); status != 200 || err != nil || resp.Version != mat.Version {
				t.Fatalf("user %s: %d %v %s", user, status, err, body)
			}
			for _, name := range features {
				built := r[col["user_orders__"+name]]
				served := string(resp.Features[name])
				if served == "null" {
					served = ""
				} else if strings.HasPrefix(served, `"`) {
					json.Unmarshal(resp.Features[name], &served)
				}
				if served != built {
					t.Errorf("user %s %s: served %s, training build %s", user, name, served, built)
				}
				compared++
			}
		}
	}
	if compared == 0 || missing < 5 || compared != 5*int(mat.Entities) {
		t.Fatalf("compared %d values, %d users not served; want %d values and users 41..45 missing", compared, missing, 5*mat.Entities)
	}
	if status, _ := get(t, url+"/v1/features/user_orders?user_id=1", ""); status != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", status)
	}

	// granary lookup goes through the Go client and prints the same.
	status, body := get(t, url+"/v1/features/user_orders?user_id=1", tokA)
	var direct struct{ Features map[string]any }
	if err := json.Unmarshal(body, &direct); status != 200 || err != nil {
		t.Fatalf("user 1: %d %v", status, err)
	}
	var looked struct {
		Version  string
		Features map[string]any
	}
	lookupOut := run("--output", "json", "lookup", "user_orders", "user_id=1", "--url", url, "--token", tokA, "--version", "prod")
	if err := json.Unmarshal([]byte(lookupOut), &looked); err != nil || looked.Version != mat.Version || fmt.Sprint(looked.Features) != fmt.Sprint(direct.Features) {
		t.Fatalf("lookup printed %s (%v); the API answered %s", lookupOut, err, body)
	}
	code, _, errOut = runCLI(t, t.Context(), "lookup", "user_orders", "user_id=1", "--url", url, "--token", "wrong")
	if code != 1 || !strings.Contains(errOut, "unauthorized") {
		t.Fatalf("lookup with a wrong token: exit %d, %s", code, errOut)
	}
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServeShutdownFinishesRequestsInFlight: on Ctrl-C, granary serve stops
// accepting, but a batch whose body is still arriving is answered in full
// before the process exits.
func TestServeShutdownFinishesRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	store, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "score", Type: tabular.Float64}}}
	tbl := tabular.NewTable(schema)
	src := &tabular.Batch{Len: 1, Vectors: []tabular.Vector{{Type: tabular.Int64, Ints: []int64{0}}, {Type: tabular.Float64, Floats: []float64{0}}}}
	for i := 1; i <= 10; i++ {
		src.Vectors[0].Ints[0], src.Vectors[1].Floats[0] = int64(i), float64(i)/2
		tbl.AppendRow(src, 0, []int{0, 1})
	}
	if _, err := servingtest.Commit(t.Context(), lake.New(store), servingtest.Index{View: "v", Keys: schema.Columns[:1], Columns: schema.Columns[1:], Batch: tbl.Batch()}, "latest"); err != nil {
		t.Fatal(err)
	}
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	t.Setenv("GRANARY_SERVE_TOKENS", tokA)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"granary", "--lake", "file://" + dir, "serve", "--addr", addr}, cli.Options{Stdout: io.Discard, Stderr: io.Discard})
	}()
	waitHTTP(t, "http://"+addr+"/readyz", "", http.StatusOK)

	body := `{"view":"v","entities":[{"user_id":3},{"user_id":4}]}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/features:batch HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, tokA, len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // the server is now reading this request's body
	cancel()
	time.Sleep(200 * time.Millisecond)
	select {
	case code := <-done:
		t.Fatalf("serve exited (%d) with a request in flight", code)
	default:
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("serve still accepts connections after Ctrl-C")
	}
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no answer: %v", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(answer), `"score":1.5`) || !strings.Contains(string(answer), `"score":2`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, answer)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit after its last request")
	}
}
