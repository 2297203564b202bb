package tabular

import (
	"bytes"
	"io"
	"strconv"
	"time"
)

// benchSchema is the 8-column table used by the benchmark and memory tests.
var benchSchema = Schema{Columns: []Column{
	{Name: "id", Type: Int64},
	{Name: "user_id", Type: Int64},
	{Name: "amount", Type: Float64, Nullable: true},
	{Name: "category", Type: String},
	{Name: "name", Type: String},
	{Name: "ok", Type: Bool},
	{Name: "event_time", Type: Timestamp},
	{Name: "score", Type: Float64},
}}

const benchHeader = "id,user_id,amount,category,name,ok,event_time,score\n"

var categories = []string{"books", "games", "garden", "music", "toys", "tools", "food", "sports"}

var benchBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// appendBenchRow appends row i of the benchmark table; deterministic.
func appendBenchRow(line []byte, i int, state *uint64) []byte {
	r := splitmix64(state)
	line = strconv.AppendInt(line, int64(i), 10)
	line = append(line, ',')
	line = strconv.AppendInt(line, int64(r%100000), 10)
	line = append(line, ',')
	if r%17 != 0 {
		line = strconv.AppendFloat(line, float64(r%1000000)/100, 'f', 2, 64)
	}
	line = append(line, ',')
	line = append(line, categories[r>>60&7]...)
	line = append(line, ",user-"...)
	line = strconv.AppendUint(line, r>>40, 36)
	line = append(line, ',')
	line = strconv.AppendBool(line, r&(1<<20) != 0)
	line = append(line, ',')
	line = appendTimestamp(line, benchBase+int64(i)*1_000_000+int64(r%1000))
	line = append(line, ',')
	line = strconv.AppendFloat(line, float64(r>>11)/(1<<53), 'g', -1, 64)
	return append(line, '\n')
}

func genCSV(buf *bytes.Buffer, n int) {
	buf.WriteString(benchHeader)
	state := uint64(42)
	var line []byte
	for i := range n {
		line = appendBenchRow(line[:0], i, &state)
		buf.Write(line)
	}
}

// genReader streams the benchmark table without holding it in memory.
type genReader struct {
	n, i    int
	state   uint64
	pending []byte
	started bool
}

func newGenReader(n int) *genReader { return &genReader{n: n, state: 42} }

func (g *genReader) Read(p []byte) (int, error) {
	if !g.started {
		g.started = true
		g.pending = append(g.pending[:0], benchHeader...)
	}
	written := 0
	for written < len(p) {
		if len(g.pending) == 0 {
			if g.i == g.n {
				break
			}
			g.pending = appendBenchRow(g.pending[:0], g.i, &g.state)
			g.i++
		}
		k := copy(p[written:], g.pending)
		g.pending = g.pending[k:]
		written += k
	}
	if written == 0 {
		return 0, io.EOF
	}
	return written, nil
}
