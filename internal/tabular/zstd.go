package tabular

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pageCodec compresses parquet pages with zstd (level "default", about zstd
// 3) using a window sized for pages. parquet-go's own codec keeps the 8 MiB
// default window, whose 16 MiB history buffer per encoder would dominate the
// memory of a conversion although pages are a few hundred KiB.
//
// Each conversion owns one, so there is no shared state between
// conversions; the mutex only guards against concurrent use.
type pageCodec struct {
	mu  sync.Mutex
	enc *zstd.Encoder
	dec pqzstd.Codec // reading our own pages back is not on the hot path
}

const pageWindow = 1 << 20

func (c *pageCodec) String() string { return "ZSTD" }

func (c *pageCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *pageCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(pageWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return dst, err
		}
		c.enc = enc
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *pageCodec) Decode(dst, src []byte) ([]byte, error) { return c.dec.Decode(dst, src) }
