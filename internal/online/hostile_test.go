package online

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// assembleIndex lays out an index file from a header and the sections
// after it, with correct checksums, so that only the lengths lie.
func assembleIndex(header string, sections ...[]byte) []byte {
	out := append([]byte(Magic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[len(Magic):], uint32(len(header)))
	all := append([][]byte{[]byte(header)}, sections...)
	offs := make([]int, len(all))
	for i, s := range all {
		offs[i] = len(out)
		out = append(out, s...)
	}
	table := len(out)
	for i, s := range all {
		out = binary.LittleEndian.AppendUint64(out, uint64(offs[i]))
		out = binary.LittleEndian.AppendUint64(out, uint64(len(s)))
		out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(s, castagnoli))
	}
	out = binary.LittleEndian.AppendUint64(out, uint64(table))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(all)))
	return append(out, Magic...)
}

type hostileIndex struct {
	name string
	data []byte
	want string
}

func hostileIndexes() []hostileIndex {
	head := func(rows int, columns string) string {
		return fmt.Sprintf(`{"format":2,"view":"v","view_version":"x","as_of":0,"shard":0,"shards":1,"keys":[{"name":"k","type":"int64"}],"columns":[%s],"rows":%d}`, columns, rows)
	}
	zero := make([]byte, 4)
	wide := strings.TrimSuffix(strings.Repeat(`{"name":"c","type":"string"},`, 3000), ",")
	hlen := assembleIndex(head(0, ""), zero, nil, nil, nil)
	binary.LittleEndian.PutUint32(hlen[len(Magic):], 0xffffffff)
	return []hostileIndex{
		{"rows-2^31-1", assembleIndex(head(1<<31-1, ""), zero, nil, nil, nil), "key offsets: 4 bytes for 2147483647 rows"},
		{"header-length-4GiB", hlen, "header length 4294967295 out of range"},
		{"wide-records-missing", assembleIndex(head(1, wide), make([]byte, 8), nil, nil, nil), "0 record bytes for 1 rows of 24376 bytes"},
	}
}

// Index files whose lengths claim far more than the file holds are
// refused by what the file holds: Open never allocates by a length it
// reads (the serving loader reads a file whole, its size checked against
// the manifest, before Open sees it).
func TestOpenRefusesHostileLengths(t *testing.T) {
	for _, c := range hostileIndexes() {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Open(c.data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			// The header's JSON (at most maxHeaderBytes) decodes into
			// about ten times its size; nothing else is allocated.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*uint64(len(c.data))+64<<10 {
				t.Errorf("Open of %d bytes allocated %d", len(c.data), alloc)
			}
		})
	}
}

func TestHostileIndexesInFuzzCorpus(t *testing.T) {
	for _, c := range hostileIndexes() {
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, strings.ToLower(c.name))
		path := filepath.Join("testdata", "fuzz", "FuzzOpen", "hostile-"+name)
		entry := []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(c.data)) + ")\n")
		if os.Getenv("GRANARY_WRITE_CORPUS") == "1" {
			if err := os.WriteFile(path, entry, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, entry) {
			t.Errorf("%s is missing or stale (%v); run the test with GRANARY_WRITE_CORPUS=1 to write it", path, err)
		}
	}
}
