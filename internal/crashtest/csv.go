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
	info, err := WriteOrdersCSV(path, rows, 0)
	return info.Bytes, err
}

// OrdersCSV describes one file WriteOrdersCSV wrote, with the counts an
// extraction of the example spec's user_orders view must report for it,
// computed here from the generated values (not by granary): rows with a
// null event_time are dropped, rows whose amount is null or not > 0 are
// filtered out ("amount > 0"), the rest are kept.
type OrdersCSV struct {
	Path     string
	Bytes    int64
	Rows     int64
	Kept     int64
	Dropped  int64 // null event_time (user_id is never null)
	Filtered int64
	// First and Last bound the event times of the file's rows.
	First, Last time.Time
}

// OrdersUsers is how many distinct user_id values orders are spread over.
const OrdersUsers = 50_000

// ordersBase is the time of the first generated order; row g of the
// whole series (part*rows + i) happens about g*orderGap later.
var ordersBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const orderGap = 37 * time.Second

// WriteOrdersCSV writes part number part of a series of orders files of
// rows rows each, in WriteCSV's columns: ids and times continue from one
// part to the next and each part draws its own values, so several parts
// imported together are several distinct source files of one dataset.
// Part 0 is exactly WriteCSV's file.
func WriteOrdersCSV(path string, rows, part int) (OrdersCSV, error) {
	info := OrdersCSV{Path: path, Rows: int64(rows)}
	f, err := os.Create(path)
	if err != nil {
		return info, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(csvSeed+uint64(part), uint64(rows)))
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600-1800)}
	var line []byte
	w.WriteString("id,user_id,amount,category,event_time,active,note\n")
	for i := range rows {
		g := part*rows + i
		line = line[:0]
		line = strconv.AppendInt(line, int64(g+1), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(rng.IntN(OrdersUsers)), 10)
		line = append(line, ',')
		positive := false
		if rng.IntN(20) != 0 {
			cents := rng.IntN(1_000_000) - 50_000
			positive = cents > 0
			line = strconv.AppendFloat(line, float64(cents)/100, 'f', 2, 64)
		}
		line = append(line, ',')
		line = appendCSVField(line, categories[rng.IntN(len(categories))])
		line = append(line, ',')
		if rng.IntN(50) == 0 {
			info.Dropped++
		} else {
			if positive {
				info.Kept++
			} else {
				info.Filtered++
			}
			ts := ordersBase.Add(time.Duration(g)*orderGap + time.Duration(rng.IntN(1_000_000))*time.Microsecond)
			if info.First.IsZero() || ts.Before(info.First) {
				info.First = ts
			}
			if ts.After(info.Last) {
				info.Last = ts
			}
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
			line = appendCSVField(line, fmt.Sprintf("note %d for user, %d", g, rng.IntN(1000)))
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return info, err
		}
	}
	return info, finish(f, w, &info.Bytes)
}

// finish flushes w into f, closes f and stores its size in size.
func finish(f *os.File, w *bufio.Writer, size *int64) error {
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	*size = st.Size()
	return f.Close()
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

// SpineCSV describes one file WriteSpineCSV wrote.
type SpineCSV struct {
	Path     string
	Bytes    int64
	Rows     int64
	NullKeys int64 // rows without a user_id: they stay in a training set, with empty features
}

// spineSeed fixes the labels' content, as csvSeed does the orders'.
const spineSeed = 0x6c6162656c73

// WriteSpineCSV writes part number part of a series of churn label files
// (the example spec's spine, dataset churn_labels) of rows rows each:
//
//	user_id int64 (nullable: one row in 200 has none), event_timestamp
//	timestamp (uniform in [from, to), in no particular order), churned bool
//
// The users are the orders' users, so most labels find orders before
// them, some within the features' windows, some past their TTL.
func WriteSpineCSV(path string, rows, part int, from, to time.Time) (SpineCSV, error) {
	info := SpineCSV{Path: path, Rows: int64(rows)}
	f, err := os.Create(path)
	if err != nil {
		return info, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(spineSeed+uint64(part), uint64(rows)))
	span := int64(to.Sub(from) / time.Second)
	if span <= 0 {
		span = 1
	}
	var line []byte
	w.WriteString("user_id,event_timestamp,churned\n")
	for range rows {
		line = line[:0]
		if rng.IntN(200) == 0 {
			info.NullKeys++
		} else {
			line = strconv.AppendInt(line, int64(rng.IntN(OrdersUsers)), 10)
		}
		line = append(line, ',')
		line = from.Add(time.Duration(rng.Int64N(span))*time.Second).UTC().AppendFormat(line, time.RFC3339)
		line = append(line, ',')
		line = strconv.AppendBool(line, rng.IntN(4) == 0)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return info, err
		}
	}
	return info, finish(f, w, &info.Bytes)
}
