package lake

import (
	"context"
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
)

// RangeReader adapts a stored object to io.ReaderAt with ranged Gets and
// a small block cache. It is safe for concurrent use.
type RangeReader struct {
	ctx   context.Context
	store objstore.Store
	key   string
	size  int64

	mu     sync.Mutex
	blocks map[int64][]byte
	lru    []int64 // block indexes, most recent last
}

// Size is the object's length.
func (r *RangeReader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > r.size {
		want = r.size - off
	}
	var n int64
	if want >= blockSize*4 {
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
