package tabular

import (
	"bytes"
	"os"
	"testing"
)

func TestDumpBenchCSV(t *testing.T) {
	path := os.Getenv("DUMP_CSV")
	if path == "" {
		t.Skip()
	}
	var in bytes.Buffer
	genCSV(&in, 1_000_000)
	os.WriteFile(path, in.Bytes(), 0o644)
}
