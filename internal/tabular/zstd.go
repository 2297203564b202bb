package tabular

import (
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pageCodec compresses parquet pages with zstd (level "fastest", about
// zstd 1; see the package documentation for why) using a window sized for
// pages. parquet-go's own codec keeps the 8 MiB
// default window, whose 16 MiB history buffer per encoder would dominate the
// memory of a conversion although pages are a few hundred KiB.
//
// Each file written owns one, so there is no shared state between files.
// A file's columns may be compressed concurrently (see BatchWriter):
// EncodeAll is safe for that, with up to GOMAXPROCS calls at once, and its
// output does not depend on which of its encoders ran.
type pageCodec struct {
	once sync.Once
	enc  *zstd.Encoder
	err  error
}

const pageWindow = 1 << 20

func (c *pageCodec) String() string { return "ZSTD" }

func (c *pageCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *pageCodec) Encode(dst, src []byte) ([]byte, error) {
	c.once.Do(func() {
		c.enc, c.err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithWindowSize(pageWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
	})
	if c.err != nil {
		return dst, c.err
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *pageCodec) Decode(dst, src []byte) ([]byte, error) { return decodeZstdPage(dst, src) }
