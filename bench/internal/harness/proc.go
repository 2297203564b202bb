// Package harness holds what the benchmark programs under bench/ share:
// process measurements from /proc and activity steps run on local files.
package harness

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// StatusKiB reads a "Vm...:  N kB" line of /proc/PID/status ("self" for
// this process); 0 when it cannot (not Linux, process gone).
func StatusKiB(pid, field string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// PeakRSSMiB is this process's peak resident set size (VmHWM) in MiB.
func PeakRSSMiB() float64 { return float64(StatusKiB("self", "VmHWM")) / 1024 }

// ResetPeak resets VmHWM to the current RSS (Linux: clear_refs 5), so the
// next phase's peak is its own.
func ResetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
