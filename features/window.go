package features

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxWindow bounds windows and TTLs: anything longer than a century is a
// unit mistake, not a feature.
const MaxWindow = 36525 * 24 * time.Hour // 100 years of 365.25 days

// ParseWindow parses a window or TTL: a Go duration ("168h", "90m",
// "1h30m") whose components may also use d (24h) and w (7d), e.g. "7d",
// "2w", "1d12h", "1.5d". The result must be positive and at most
// MaxWindow. Spaces, signs and bare numbers are rejected.
func ParseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s == "0" {
		return 0, fmt.Errorf("zero duration '%s'; windows and ttl must be positive (leave the field out for no limit)", s)
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative duration '%s'; windows and ttl must be positive", s)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		// One component: a decimal number and a unit.
		i := 0
		for i < len(rest) && (rest[i] == '.' || ('0' <= rest[i] && rest[i] <= '9')) {
			i++
		}
		j := i
		for j < len(rest) && !(rest[j] == '.' || ('0' <= rest[j] && rest[j] <= '9')) {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" || num == "." || strings.Count(num, ".") > 1 || unit == "" {
			return 0, badWindow(s)
		}
		var scale time.Duration = 1
		switch unit {
		case "d":
			unit, scale = "h", 24
		case "w":
			unit, scale = "h", 24*7
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		default:
			return 0, badWindow(s)
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil {
			return 0, tooLong(s)
		}
		if d > math.MaxInt64/scale {
			return 0, tooLong(s)
		}
		d *= scale
		if total > math.MaxInt64-d {
			return 0, tooLong(s)
		}
		total += d
	}
	if total == 0 {
		return 0, fmt.Errorf("zero duration '%s'; windows and ttl must be positive (leave the field out for no limit)", s)
	}
	if total > MaxWindow {
		return 0, tooLong(s)
	}
	return total, nil
}

func badWindow(s string) error {
	return fmt.Errorf("invalid duration '%s'; use a number and a unit (ns, us, ms, s, m, h, d, w) without spaces, e.g. 7d, 168h or 1h30m", s)
}

func tooLong(s string) error {
	return fmt.Errorf("duration '%s' is longer than 100 years", s)
}

// FormatWindow writes d the way a person would in a spec: whole weeks or
// days when exact, Go duration syntax otherwise.
func FormatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d <= 0:
		return d.String()
	case d%(7*day) == 0:
		return fmt.Sprintf("%dw", d/(7*day))
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// checkWindow validates a duration that did not come through ParseWindow
// (a Spec built in code or decoded from JSON).
func checkWindow(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("negative duration %s; windows and ttl must be positive", d)
	case d > MaxWindow:
		return fmt.Errorf("duration %s is longer than 100 years", d)
	}
	return nil
}
