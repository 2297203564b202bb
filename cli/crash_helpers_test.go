package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

// crashSeed is the kill schedule's seed: GRANARY_CRASH_SEED replays a
// failing run's schedule, otherwise every run tries a new one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("GRANARY_CRASH_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GRANARY_CRASH_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// referenceVersion imports the CSV uninterrupted, in-process with the
// SDK's test environment on a directory lake: no Temporal server, no
// MinIO, no worker process. The version id depends only on content, so it
// is what the crashed run on MinIO must produce. The input is what `granary
// dataset import NAME PATH` sends: the file's base name, its digest, format
// "auto".
func referenceVersion(t *testing.T, name, csvPath string) (workflows.CommitDatasetResult, time.Duration) {
	t.Helper()
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, size, _, err := lake.New(store).PutBlobFile(t.Context(), csvPath)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(3 * time.Minute) // the default 3s idle limit is shorter than one conversion
	worker.Register(env, activities.New(store, "reference"))
	start := time.Now()
	env.ExecuteWorkflow(workflows.CommitDataset, workflows.CommitDatasetInput{
		Name:    name,
		Format:  "auto",
		Sources: []activities.Source{{Name: filepath.Base(csvPath), Digest: d, Bytes: size}},
	})
	took := time.Since(start)
	if !env.IsWorkflowCompleted() {
		t.Fatal("reference import did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("reference import: %v", err)
	}
	var res workflows.CommitDatasetResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, took
}

// crashImportJSON is the part of `dataset import --output json` the
// crash test reads.
type crashImportJSON struct {
	Version    string `json:"version"`
	Rows       int64  `json:"rows"`
	Attached   bool   `json:"attached"`
	WorkflowID string `json:"workflow_id"`
}

// runImportCLI runs `granary dataset import` in-process and decodes its
// JSON result.
func runImportCLI(ctx context.Context, flags []string, args ...string) (crashImportJSON, error) {
	var out, errb bytes.Buffer
	all := append(append([]string{"granary"}, flags...), "--output", "json", "dataset", "import")
	code := cli.Run(ctx, append(all, args...), cli.Options{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	if code != 0 {
		return crashImportJSON{}, fmt.Errorf("granary dataset import %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errb.String()))
	}
	var res crashImportJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, fmt.Errorf("import output is not JSON: %v\n%s", err, out.String())
	}
	return res, nil
}

// countObjects counts the keys under prefix.
func countObjects(t *testing.T, store objstore.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, err := range objstore.All(t.Context(), store, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// leftoverTempFiles lists what crashed workers left in their TMPDIR.
func leftoverTempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
