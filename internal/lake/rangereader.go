package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/granaryml/granary/internal/objstore"
)

// Read-ahead cache geometry. Parquet readers ask for a few tens of KiB at
// a time, one column chunk after another and often several columns in
// lockstep; one ranged Get per small read would be thousands of round
// trips to S3 per file. Aligned blocks with a small LRU serve sequential
// reads of up to maxBlocks interleaved columns with one request per block,
// and cap a reader's memory at blockSize*maxBlocks.
const (
	blockSize = 256 << 10
	maxBlocks = 16
	// wholeBlobMax: a blob no larger than the cache is fetched whole, in
	// one Get, at the first read and verified against its digest before
	// any byte is served. Memory stays within the cache's bound.
	wholeBlobMax = blockSize * maxBlocks
)

// RangeReader adapts a stored blob to io.ReaderAt with ranged Gets and a
// small block cache. It is safe for concurrent use.
//
// What is verified: a blob of at most wholeBlobMax bytes is hashed in full
// before its first byte is served, and a mismatch fails every read with a
// *CorruptBlobError. Larger blobs are read in ranges (a parquet reader
// reads the footer, then only the column chunks it selected), which
// cannot be checked against a whole-file digest without reading the whole
// file; their bytes are served unverified, and `granary lake verify` is
// what finds them damaged.
type RangeReader struct {
	ctx    context.Context
	store  objstore.Store
	key    string
	digest Digest
	size   int64

	mu      sync.Mutex
	whole   []byte // the verified blob, once loaded (small blobs only)
	corrupt error  // sticky: the small blob failed verification
	blocks  map[int64][]byte
	lru     []int64 // block indexes, most recent last
}

// Size is the object's length.
func (r *RangeReader) Size() int64 { return r.size }

// Name is the blob's lake key, so readers' errors (tabular.NewReader's)
// name the blob they were reading.
func (r *RangeReader) Name() string { return r.key }

// ReadAt implements io.ReaderAt.
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob %s: read at negative offset %d", r.digest, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > r.size {
		want = r.size - off
	}
	var n int64
	if r.size <= wholeBlobMax {
		got, err := r.copyWhole(p[:want], off)
		n = int64(got)
		if err != nil {
			return got, err
		}
	} else if want >= blockSize*4 {
		// Large reads go straight through: caching them would only evict.
		got, err := r.fetch(p[:want], off)
		n = int64(got)
		if err != nil {
			return got, err
		}
	} else {
		for n < want {
			got, err := r.copyBlock(p[n:want], off+n)
			n += int64(got)
			if err != nil {
				return int(n), err
			}
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// copyBlock copies into p from the cached block holding off, fetching it
// first if needed. The copy happens under the lock because a block's
// memory is handed to the next block fetched once it is evicted: a copy
// made after unlocking could read bytes of another part of the blob.
func (r *RangeReader) copyBlock(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := r.block(off / blockSize)
	if err != nil {
		return 0, err
	}
	return copy(p, b[off%blockSize:]), nil
}

// copyWhole serves a small blob from memory, loading and verifying it at
// the first call. A failed load is retried by the next read; a digest
// mismatch is returned by every read, since the stored bytes will not heal.
func (r *RangeReader) copyWhole(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.corrupt != nil {
		return 0, r.corrupt
	}
	if r.whole == nil {
		if err := r.loadWhole(); err != nil {
			return 0, err
		}
	}
	return copy(p, r.whole[off:]), nil
}

func (r *RangeReader) loadWhole() error {
	rc, info, err := r.store.Get(r.ctx, r.key, objstore.GetOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.Size != r.size {
		return fmt.Errorf("blob %s (lake key %s) changed from %d to %d bytes while open", r.digest, r.key, r.size, info.Size)
	}
	b := make([]byte, r.size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return fmt.Errorf("blob %s (lake key %s): %w", r.digest, r.key, err)
	}
	sum := sha256.Sum256(b)
	if got := Digest("sha256:" + hex.EncodeToString(sum[:])); got != r.digest {
		err := &CorruptBlobError{Digest: r.digest, Key: r.key, Got: got, Size: r.size}
		r.corrupt = err
		return err
	}
	r.whole = b
	return nil
}

// block returns block i, fetching it into the cache if needed. r.mu must
// be held, and the result is only valid until it is released.
func (r *RangeReader) block(i int64) ([]byte, error) {
	if b, ok := r.blocks[i]; ok {
		r.touch(i)
		return b, nil
	}
	start := i * blockSize
	n := int(min(int64(blockSize), r.size-start))
	var b []byte
	if r.blocks == nil {
		r.blocks = make(map[int64][]byte, maxBlocks)
	} else if len(r.blocks) >= maxBlocks {
		oldest := r.lru[0]
		r.lru = r.lru[1:]
		if old := r.blocks[oldest]; cap(old) >= n {
			b = old[:n] // reuse the evicted block's memory
		}
		delete(r.blocks, oldest)
	}
	if b == nil {
		b = make([]byte, n)
	}
	if _, err := r.fetch(b, start); err != nil {
		return nil, err
	}
	r.blocks[i] = b
	r.lru = append(r.lru, i)
	return b, nil
}

func (r *RangeReader) touch(i int64) {
	for k, v := range r.lru {
		if v == i {
			r.lru = append(append(r.lru[:k:k], r.lru[k+1:]...), i)
			return
		}
	}
}

func (r *RangeReader) fetch(p []byte, off int64) (int, error) {
	rc, _, err := r.store.Get(r.ctx, r.key, objstore.GetOptions{Offset: off, Length: int64(len(p))})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.ReadFull(rc, p)
}
