package crashtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// csvSeed fixes the generated content: the crash run and its reference
// must import byte-identical files.
const csvSeed = 0x6772616e617279

var categories = []string{"books", "garden", "toys", "grocery", "electronics", `comma, inside`, `quote "inside"`, "ünïcødé 🌾"}

// WriteCSV writes a deterministic CSV of rows data rows to path and
// returns its size. Columns cover every type granary infers, with nulls
// (unquoted empty fields) in most of them:
//
//	id int64, user_id int64, amount float64 (nullable), category string,
//	event_time timestamp (nullable, mixed zones and layouts),
//	active bool (nullable), note string (nullable, some "" empty strings)
func WriteCSV(path string, rows int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(csvSeed, uint64(rows)))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600-1800)}
	var line []byte
	w.WriteString("id,user_id,amount,category,event_time,active,note\n")
	for i := range rows {
		line = line[:0]
		line = strconv.AppendInt(line, int64(i+1), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(rng.IntN(50_000)), 10)
		line = append(line, ',')
		if rng.IntN(20) != 0 {
			line = strconv.AppendFloat(line, float64(rng.IntN(1_000_000)-50_000)/100, 'f', 2, 64)
		}
		line = append(line, ',')
		line = appendCSVField(line, categories[rng.IntN(len(categories))])
		line = append(line, ',')
		if rng.IntN(50) != 0 {
			ts := base.Add(time.Duration(i)*37*time.Second + time.Duration(rng.IntN(1_000_000))*time.Microsecond)
			switch rng.IntN(3) {
			case 0:
				line = ts.In(zones[rng.IntN(len(zones))]).AppendFormat(line, time.RFC3339Nano)
			case 1:
				line = ts.AppendFormat(line, "2006-01-02 15:04:05")
			default:
				line = ts.AppendFormat(line, time.RFC3339)
			}
		}
		line = append(line, ',')
		switch rng.IntN(10) {
		case 0:
		case 1, 2, 3, 4:
			line = append(line, "true"...)
		default:
			line = append(line, "false"...)
		}
		line = append(line, ',')
		switch rng.IntN(8) {
		case 0: // null
		case 1:
			line = append(line, `""`...) // the empty string, not null
		default:
			line = appendCSVField(line, fmt.Sprintf("note %d for user, %d", i, rng.IntN(1000)))
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

// appendCSVField quotes s when RFC 4180 requires it.
func appendCSVField(b []byte, s string) []byte {
	needs := false
	for _, c := range []byte(s) {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for _, c := range []byte(s) {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
