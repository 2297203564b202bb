// Command gen writes a deterministic CSV for the import benchmark
// (bench/import.sh): the same -rows and -seed always give the same bytes.
//
// Eight columns, in this order:
//
//	id          int64      1..rows, sequential
//	quantity    int64      a count, 0..999 (1 row in 1000 up to 10^9)
//	price       float64    2 decimals, 5% null
//	score       float64    6 decimals, signed, 10% null
//	category    string     one of 24 short labels
//	comment     string     free text, 2-12 words; ~10% contain commas,
//	                       ~3% contain double quotes (RFC 4180 quoting), 2% null
//	created_at  timestamp  RFC 3339 in UTC ("2024-03-01T10:00:00Z"), 1 in 50
//	                       with a fractional second
//	active      bool       true/false
//
// Null is an unquoted empty field (granary's and DuckDB's convention).
// There are no quoted empty strings: granary reads "" as the empty string,
// DuckDB as null by default, and the side-by-side check should compare
// like with like.
//
//	go run ./bench/gen -rows 10000000 -out bench/out/x.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

var categories = []string{
	"books", "electronics", "garden", "toys", "grocery", "beauty", "sports",
	"automotive", "music", "movies", "office", "pets", "baby", "health",
	"jewelry", "shoes", "tools", "kitchen", "outdoor", "software", "games",
	"crafts", "travel", "home",
}

var words = []string{
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "order",
	"arrived", "late", "great", "value", "would", "buy", "again", "packaging",
	"was", "damaged", "works", "as", "expected", "colour", "slightly", "off",
	"customer", "support", "helpful", "refund", "requested", "size", "fits",
	"perfectly", "battery", "life", "short", "excellent", "quality", "cheap",
	"feel", "fast", "delivery", "gift", "for", "my", "sister", "not", "happy",
	"five", "stars",
}

func main() {
	rows := flag.Int64("rows", 10_000_000, "data rows to write (plus a header)")
	out := flag.String("out", "", "output file (default stdout)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *rows < 0 {
		fmt.Fprintln(os.Stderr, "gen: -rows must be >= 0")
		os.Exit(2)
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "" {
		var err error
		// Write beside the target and rename, so an interrupted run never
		// leaves a truncated file that a later run would take as complete.
		f, err = os.Create(*out + ".tmp")
		if err != nil {
			fail(err)
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := generate(bw, *rows, *seed); err != nil {
		fail(err)
	}
	if err := bw.Flush(); err != nil {
		fail(err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			fail(err)
		}
		if err := os.Rename(*out+".tmp", *out); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// base is 2024-01-01T00:00:00Z; timestamps spread over two years.
var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

const span = 2 * 365 * 24 * 3600

func generate(w *bufio.Writer, rows int64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	if _, err := w.WriteString("id,quantity,price,score,category,comment,created_at,active\n"); err != nil {
		return err
	}
	buf := make([]byte, 0, 512)
	var text []byte
	for id := int64(1); id <= rows; id++ {
		b := buf[:0]
		b = strconv.AppendInt(b, id, 10)
		b = append(b, ',')

		q := rng.Int64N(1000)
		if rng.IntN(1000) == 0 {
			q = rng.Int64N(1_000_000_000)
		}
		b = strconv.AppendInt(b, q, 10)
		b = append(b, ',')

		if rng.IntN(100) >= 5 {
			// cents, so the decimal text is exact to two places
			b = appendFixed(b, rng.Int64N(10_000_000), 2)
		}
		b = append(b, ',')

		if rng.IntN(100) >= 10 {
			b = appendFixed(b, rng.Int64N(2_000_000_000)-1_000_000_000, 6)
		}
		b = append(b, ',')

		b = append(b, categories[rng.IntN(len(categories))]...)
		b = append(b, ',')

		if rng.IntN(100) >= 2 {
			text = comment(text[:0], rng)
			b = appendCSVField(b, text)
		}
		b = append(b, ',')

		t := time.Unix(base+rng.Int64N(span), 0).UTC()
		if rng.IntN(50) == 0 {
			t = t.Add(time.Duration(rng.Int64N(1_000_000)) * time.Microsecond)
			b = t.AppendFormat(b, "2006-01-02T15:04:05.999999Z07:00")
		} else {
			b = t.AppendFormat(b, time.RFC3339)
		}
		b = append(b, ',')

		b = strconv.AppendBool(b, rng.IntN(2) == 0)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
		buf = b
	}
	return nil
}

// appendFixed writes v / 10^dec with exactly dec decimals ("-12.345000").
func appendFixed(b []byte, v int64, dec int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	p := int64(1)
	for range dec {
		p *= 10
	}
	b = strconv.AppendInt(b, v/p, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(nil, v%p, 10)
	for range dec - len(frac) {
		b = append(b, '0')
	}
	return append(b, frac...)
}

func comment(b []byte, rng *rand.Rand) []byte {
	n := 2 + rng.IntN(11)
	comma := rng.IntN(10) == 0
	quote := rng.IntN(33) == 0
	for i := range n {
		if i > 0 {
			if comma && i == n/2 {
				b = append(b, ',')
			}
			b = append(b, ' ')
		}
		w := words[rng.IntN(len(words))]
		if quote && i == 1 {
			b = append(b, '"')
			b = append(b, w...)
			b = append(b, '"')
			continue
		}
		b = append(b, w...)
	}
	return b
}

// appendCSVField quotes s when it holds a comma, quote or newline.
func appendCSVField(b, s []byte) []byte {
	need := false
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for _, c := range s {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
