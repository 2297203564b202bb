package tabular

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// bytesToString views b as a string without copying. Only for calls that do
// not retain the string.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// parseInt64 accepts an optional sign followed by decimal digits.
func parseInt64(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 {
		return 0, false
	}
	i := 0
	neg := false
	switch b[0] {
	case '-':
		neg = true
		i = 1
	case '+':
		i = 1
	}
	if i == n {
		return 0, false
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var u uint64
	for ; i < n; i++ {
		d := uint64(b[i] - '0')
		if d > 9 {
			return 0, false
		}
		if u > (limit-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), true // -(1<<63) wraps to itself, which is MinInt64
	}
	return int64(u), true
}

// isIntegerSyntax reports whether b is [+-]digits, regardless of range.
func isIntegerSyntax(b []byte) bool {
	i := 0
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		i = 1
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// parseFloat64 accepts decimal syntax and the special values; see the
// package documentation.
func parseFloat64(b []byte) (float64, bool) {
	if !isDecimalFloatSyntax(b) && !isSpecialFloat(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(bytesToString(b), 64)
	if err != nil {
		return 0, false // out of range
	}
	return f, true
}

func isDecimalFloatSyntax(b []byte) bool {
	i, n := 0, len(b)
	if i < n && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for i < n && b[i]-'0' <= 9 {
		i++
		digits++
	}
	if i < n && b[i] == '.' {
		i++
		for i < n && b[i]-'0' <= 9 {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < n && b[i]-'0' <= 9 {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == n
}

func isSpecialFloat(b []byte) bool {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	switch len(b) {
	case 3:
		return equalFold(b, "nan") || equalFold(b, "inf")
	case 8:
		return equalFold(b, "infinity")
	}
	return false
}

// equalFold compares ASCII b with lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func parseBool(b []byte) (value, ok bool) {
	switch len(b) {
	case 4:
		if equalFold(b, "true") {
			return true, true
		}
	case 5:
		if equalFold(b, "false") {
			return false, true
		}
	}
	return false, false
}

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// Range of timestamps that have a four-digit year, and so a text form that
// parses back: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
var (
	minTimestamp = daysFromCivil(0, 1, 1) * microsPerDay
	maxTimestamp = daysFromCivil(10000, 1, 1)*microsPerDay - 1
)

// parseTimestamp parses the timestamp syntax described in the package
// documentation into microseconds since the epoch, UTC. A zone offset that
// moves the instant outside years 0000-9999 is rejected, so that every
// accepted value has a text form that parses back.
func parseTimestamp(b []byte) (int64, bool) {
	us, ok := parseTimestampUnchecked(b)
	if !ok || us < minTimestamp || us > maxTimestamp {
		return 0, false
	}
	return us, true
}

func parseTimestampUnchecked(b []byte) (int64, bool) {
	n := len(b)
	if n < 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) {
		return 0, false
	}
	us := daysFromCivil(int64(year), int64(month), int64(day)) * microsPerDay
	if n == 10 {
		return us, true
	}
	if n < 19 || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	hour, ok1 := digits(b[11:13])
	minute, ok2 := digits(b[14:16])
	sec, ok3 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	us += int64(hour*3600+minute*60+sec) * microsPerSecond
	i := 19
	if i < n && b[i] == '.' {
		i++
		start := i
		var frac int64
		for i < n && b[i]-'0' <= 9 {
			if i-start < 6 {
				frac = frac*10 + int64(b[i]-'0')
			}
			i++
		}
		nd := i - start
		if nd == 0 || nd > 9 {
			return 0, false
		}
		for k := nd; k < 6; k++ {
			frac *= 10
		}
		us += frac
	}
	if i == n {
		return us, true
	}
	switch b[i] {
	case 'Z', 'z':
		if i+1 != n {
			return 0, false
		}
		return us, true
	case '+', '-':
		if n-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := int64(oh*3600+om*60) * microsPerSecond
		if b[i] == '+' {
			us -= off
		} else {
			us += off
		}
		return us, true
	}
	return 0, false
}

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int(d)
	}
	return v, true
}

func daysInMonth(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm; exact integer arithmetic).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m - 3
	if m <= 2 {
		mp = m + 9
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// Canonical text forms, shared by stats and CSV export.

func appendInt64(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

func appendFloat64(dst []byte, v float64) []byte { return strconv.AppendFloat(dst, v, 'g', -1, 64) }

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

func appendTimestamp(dst []byte, us int64) []byte {
	return time.UnixMicro(us).UTC().AppendFormat(dst, time.RFC3339Nano)
}
