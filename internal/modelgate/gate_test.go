package modelgate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/modelgate"
)

func TestEvaluate(t *testing.T) {
	cand := map[string]float64{"auc": 0.85, "loss": 0.3}
	champ := map[string]float64{"auc": 0.855, "loss": 0.35}
	cases := []struct {
		gate     string
		champion map[string]float64
		passed   bool
		skipped  bool
	}{
		{"auc >= 0.8", champ, true, false},
		{"auc >= 0.9", champ, false, false},
		{"auc >= champion.auc - 0.01", champ, true, false},
		{"auc >= champion.auc", champ, false, false},
		{"loss < champion.loss && auc > 0.5", champ, true, false},
		{"auc >= champion.auc", nil, true, true}, // first promotion: nothing to beat
		{"abs(auc - champion.auc) < 0.01", champ, true, false},
	}
	for _, c := range cases {
		r, err := modelgate.Evaluate(c.gate, cand, c.champion, modelgate.NoChampionSkip)
		if err != nil {
			t.Fatalf("%s: %v", c.gate, err)
		}
		if r.Passed != c.passed || r.Skipped != c.skipped {
			t.Errorf("%s: passed=%v skipped=%v, want %v %v (%s)", c.gate, r.Passed, r.Skipped, c.passed, c.skipped, r.Detail)
		}
	}
	r, _ := modelgate.Evaluate("auc >= champion.auc - 0.01", cand, champ, modelgate.NoChampionSkip)
	if !strings.Contains(r.Detail, "auc=0.85") || !strings.Contains(r.Detail, "champion.auc=0.855") {
		t.Errorf("detail should show the values read: %q", r.Detail)
	}
}

// TestEvaluateWithoutChampion: with no alias holder, the parts of a gate
// that do not read the champion still decide it; only a verdict that
// truly depends on the champion is skipped (or failed, by policy).
func TestEvaluateWithoutChampion(t *testing.T) {
	type verdict struct{ passed, skipped bool }
	var (
		pass    = verdict{true, false}
		fail    = verdict{false, false}
		skipped = verdict{true, true}
	)
	cases := []struct {
		gate     string
		auc      float64
		skip     verdict // no_champion: skip (the default)
		failMode verdict // no_champion: fail
	}{
		// The case: a candidate far below the absolute bar.
		{"auc >= 0.8 && auc >= champion.auc - 0.01", 0.10, fail, fail},
		{"auc >= 0.8 && auc >= champion.auc - 0.01", 0.85, skipped, fail},
		{"auc >= champion.auc - 0.01 and auc >= 0.8", 0.10, fail, fail},
		{"auc >= champion.auc", 0.10, skipped, fail},
		// Holds whatever the champion's metrics: not skipped, not failed.
		{"auc >= 0.8 || auc >= champion.auc", 0.90, pass, pass},
		{"auc >= 0.8 || auc >= champion.auc", 0.10, skipped, fail},
		{"!(auc < 0.5) && loss < champion.loss", 0.30, fail, fail},
		{"not (auc >= champion.auc) || auc < 0", 0.30, skipped, fail},
		{"(auc > 0.5 && loss < 1) && (auc >= champion.auc || loss < 0.1)", 0.60, pass, pass},
		{"(auc > 0.5 && loss < 1) && (auc >= champion.auc || loss < 0.01)", 0.60, skipped, fail},
		{"(auc > 0.5 && loss < 1) && (auc >= champion.auc || loss < 0.01)", 0.40, fail, fail},
		{"abs(auc - champion.auc) < 0.01 && auc in [0.1, 0.2]", 0.30, fail, fail},
		// A gate with no champion term is evaluated as usual.
		{"auc >= 0.8", 0.10, fail, fail},
	}
	for _, c := range cases {
		cand := map[string]float64{"auc": c.auc, "loss": 0.05}
		for _, mode := range []struct {
			nc   modelgate.NoChampion
			want verdict
		}{{modelgate.NoChampionSkip, c.skip}, {modelgate.NoChampionFail, c.failMode}} {
			r, err := modelgate.Evaluate(c.gate, cand, nil, mode.nc)
			if err != nil {
				t.Fatalf("%s (auc %g, %s): %v", c.gate, c.auc, mode.nc, err)
			}
			if got := (verdict{r.Passed, r.Skipped}); got != mode.want {
				t.Errorf("%s (auc %g, no_champion %s): passed=%v skipped=%v, want %+v (%s)", c.gate, c.auc, mode.nc, r.Passed, r.Skipped, mode.want, r.Detail)
			}
			if !strings.Contains(r.Detail, "no champion") && strings.Contains(c.gate, "champion") {
				t.Errorf("%s: detail %q should say there was no champion", c.gate, r.Detail)
			}
		}
	}
	r, _ := modelgate.Evaluate("auc >= 0.8 && auc >= champion.auc - 0.01", map[string]float64{"auc": 0.1}, nil, "")
	if !strings.Contains(r.Detail, "auc=0.1") {
		t.Errorf("detail should show the candidate values read: %q", r.Detail)
	}
	// Errors are errors with or without a champion.
	for gate, want := range map[string]string{
		"auc >= 0.8 && missing > 1 && auc >= champion.auc": `no metric "missing"`,
		"auc + champion.auc": "invalid gate",
	} {
		if _, err := modelgate.Evaluate(gate, map[string]float64{"auc": 0.9}, nil, ""); err == nil || !errors.Is(err, modelgate.ErrInvalidGate) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", gate, err, want)
		}
	}
}

func TestParseNoChampion(t *testing.T) {
	for in, want := range map[string]modelgate.NoChampion{"": modelgate.NoChampionSkip, "skip": modelgate.NoChampionSkip, "fail": modelgate.NoChampionFail} {
		if got, err := modelgate.ParseNoChampion(in); err != nil || got != want {
			t.Errorf("ParseNoChampion(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := modelgate.ParseNoChampion("allow"); err == nil || !strings.Contains(err.Error(), "skip or fail") {
		t.Errorf("bad value accepted: %v", err)
	}
}

func TestCheckRejectsBadGatesBeforeAnythingRuns(t *testing.T) {
	metrics := map[string]float64{"auc": 0.9}
	for gate, want := range map[string]string{
		"auc >=":                  "invalid gate",
		"acu >= 0.8":              `unknown metric "acu"`,
		"auc >= champion.aux":     `unknown metric "aux"`,
		"auc + 1":                 "invalid gate", // not a boolean
		`champion["auc"] > 0`:     "",             // index form is the same access
		"auc >= champion.auc - 1": "",
	} {
		err := modelgate.Check(gate, metrics)
		if want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", gate, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, modelgate.ErrInvalidGate) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", gate, err, want)
		}
	}
}
