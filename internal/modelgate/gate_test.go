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
		r, err := modelgate.Evaluate(c.gate, cand, c.champion)
		if err != nil {
			t.Fatalf("%s: %v", c.gate, err)
		}
		if r.Passed != c.passed || r.Skipped != c.skipped {
			t.Errorf("%s: passed=%v skipped=%v, want %v %v (%s)", c.gate, r.Passed, r.Skipped, c.passed, c.skipped, r.Detail)
		}
	}
	r, _ := modelgate.Evaluate("auc >= champion.auc - 0.01", cand, champ)
	if !strings.Contains(r.Detail, "auc=0.85") || !strings.Contains(r.Detail, "champion.auc=0.855") {
		t.Errorf("detail should show the values read: %q", r.Detail)
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
