package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// Format is an input file format.
type Format string

// The input formats.
const (
	CSV     Format = "csv"
	JSONL   Format = "jsonl"
	Parquet Format = "parquet"
)

// Valid reports whether f is a known format.
func (f Format) Valid() bool {
	switch f {
	case CSV, JSONL, Parquet:
		return true
	}
	return false
}

var parquetMagic = []byte("PAR1")

// DetectFormat picks the format from the file name's extension (.csv,
// .jsonl/.ndjson, .parquet/.pq, case-insensitive) and, failing that, from the
// first bytes of the content: parquet magic "PAR1", a '{' (after an optional
// BOM and white space) for JSONL, otherwise CSV when the head is text.
// Compressed inputs are rejected. Errors match ErrBadInput.
func DetectFormat(name string, head []byte) (Format, error) {
	if f, err := formatFromExt(name); f != "" || err != nil {
		return f, err
	}
	if len(head) == 0 {
		return "", &InputError{File: name, Err: errors.New("empty file")}
	}
	if bytes.HasPrefix(head, parquetMagic) {
		return Parquet, nil
	}
	text := bytes.TrimPrefix(head, utf8BOM)
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return JSONL, nil
	}
	if looksLikeText(text) {
		return CSV, nil
	}
	return "", &InputError{File: name, Err: errors.New("unknown format: not CSV, JSONL or parquet (binary content)")}
}

// formatFromExt returns "" and no error when the extension says nothing.
func formatFromExt(name string) (Format, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	switch ext {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case ".gz", ".zst", ".bz2", ".xz", ".zip", ".snappy", ".lz4":
		return "", &InputError{File: name, Err: fmt.Errorf("compressed input (%s) is not supported; decompress it first", ext)}
	}
	return "", nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// looksLikeText accepts valid UTF-8 without NUL bytes; a rune cut by the end
// of the head is allowed.
func looksLikeText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}

// peekedReader replays the bytes read for format detection, then the rest.
type peekedReader struct {
	orig io.Reader
	head []byte
}

func (p *peekedReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.orig.Read(b)
}

// resolveFormat returns the given format, or detects it from the file name
// and the first bytes of r; the returned reader still yields every byte.
func resolveFormat(r io.Reader, file string, format Format) (Format, io.Reader, error) {
	if format != "" {
		if !format.Valid() {
			return "", nil, fmt.Errorf("tabular: unknown format %q", string(format))
		}
		return format, r, nil
	}
	if f, err := formatFromExt(file); f != "" || err != nil {
		return f, r, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", nil, err
	}
	head = head[:n]
	f, err := DetectFormat(file, head)
	if err != nil {
		return "", nil, err
	}
	return f, &peekedReader{orig: r, head: head}, nil
}
