package workflows_test

import (
	"bytes"
	"testing"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

// Re-importing the same data does not trust the conversion memo when the
// converted blob has rotted: it converts again, and the upload replaces
// the damaged blob, so the version is readable again.
func TestReimportRepairsARottenConvertedBlob(t *testing.T) {
	store := newStore(t)
	in := workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(ordersCSV))}}
	first, err := runImport(t, store, in)
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindDataset, "orders", first.Version)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Files[0].Digest
	rc, info, err := l.OpenBlob(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	good.ReadFrom(rc)
	rc.Close()
	rotten := bytes.Clone(good.Bytes())
	rotten[len(rotten)/2] ^= 0x01 // one flipped bit, same size
	if _, err := store.Put(t.Context(), lake.BlobKey(d), bytes.NewReader(rotten), info.Size); err != nil {
		t.Fatal(err)
	}

	again, err := runImport(t, store, in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != first.Version {
		t.Fatalf("re-import gave %s, want %s", again.Version, first.Version)
	}
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatalf("re-import left the converted blob damaged: %v", err)
	}
}
