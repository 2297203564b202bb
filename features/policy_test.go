package features

import (
	"strings"
	"testing"
	"time"
)

const policyBase = `project: shop
entities: [{name: user, join_keys: [user_id]}]
sources: [{name: orders, dataset: orders, timestamp: event_time}]
feature_views:
  - name: user_orders
    entity: user
    source: orders
    features: [{name: orders_7d, agg: count, window: 168h}]
`

func TestParseModelPolicies(t *testing.T) {
	s := mustParse(t, policyBase+`models:
  - name: churn
    aliases:
      - name: prod
        require_approval: true
        approval_timeout: 3d
        gates:
          - "auc >= 0.8 && auc >= champion.auc - 0.01"
          - 'loss <= champion["loss"]'
        no_champion: fail
      - name: staging
        gates: ["auc >= 0.7"]
  - name: fraud.v2
    aliases: [{name: prod, require_approval: true}]
`)
	prod := s.AliasPolicy("churn", "prod")
	want := AliasPolicy{Name: "prod", RequireApproval: true, ApprovalTimeout: 72 * time.Hour,
		Gates: []string{"auc >= 0.8 && auc >= champion.auc - 0.01", `loss <= champion["loss"]`}, NoChampion: NoChampionFail}
	if prod == nil || prod.String() != want.String() || prod.Name != want.Name {
		t.Fatalf("churn/prod policy %+v, want %+v", prod, want)
	}
	if st := s.AliasPolicy("churn", "staging"); st == nil || st.RequireApproval || len(st.Gates) != 1 {
		t.Fatalf("churn/staging policy %+v", st)
	}
	if p := s.AliasPolicy("fraud.v2", "prod"); p == nil || !p.RequireApproval {
		t.Fatalf("fraud.v2/prod policy %+v", p)
	}
	for _, absent := range [][2]string{{"churn", "canary"}, {"other", "prod"}} {
		if p := s.AliasPolicy(absent[0], absent[1]); p != nil {
			t.Fatalf("%s/%s has no policy, got %+v", absent[0], absent[1], p)
		}
	}
	// The policy is part of what the spec is: applying a new one is a
	// change.
	without := mustParse(t, policyBase)
	if without.Digest() == s.Digest() {
		t.Fatal("a spec's promotion policy must change its digest")
	}
	if len(without.Models) != 0 || strings.Contains(string(must(without.Canonical())), "models") {
		t.Fatal("a spec without policies must keep its canonical form (and digest) unchanged")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestModelPolicyErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"bool as string", `models: [{name: churn, aliases: [{name: prod, require_approval: "yes"}]}]`, "shop.yaml:9:65: models[0].aliases[0].require_approval: must be true or false, got a string"},
		{"unknown field", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        require_aproval: true\n", "shop.yaml:13:9: models[0].aliases[0]: unknown field 'require_aproval'; did you mean 'require_approval'?"},
		{"bad gate", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        gates: [\"auc >=\"]\n", "shop.yaml:13:23: models[0].aliases[0].gates[0]: syntax error"},
		{"champion by variable", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        gates: [\"auc >= champion[m]\"]\n", "champion metrics are read as champion.name"},
		{"bare champion", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        gates: [\"len(champion) == 0\"]\n", "champion is read by metric"},
		{"no_champion value", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        no_champion: allow\n", "shop.yaml:13:22: models[0].aliases[0].no_champion: must be skip or fail, got 'allow'"},
		{"timeout without approval", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        approval_timeout: 24h\n", "is set but require_approval is not"},
		{"no aliases", "models:\n  - name: churn\n", "shop.yaml:10:5: models[0].aliases: is required: list the aliases"},
		{"bad model name", "models:\n  - name: Churn\n    aliases: [{name: prod}]\n", "model name 'Churn' must be"},
		{"duplicate model", "models:\n  - name: churn\n    aliases: [{name: prod}]\n  - name: churn\n    aliases: [{name: staging}]\n", "duplicate model name 'churn'"},
		{"duplicate alias", "models:\n  - name: churn\n    aliases: [{name: prod}, {name: prod}]\n", "duplicate alias name 'prod'"},
		{"gate reading the clock", "models:\n  - name: churn\n    aliases:\n      - name: prod\n        gates: [\"now() > 0\"]\n", "now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("shop.yaml", []byte(policyBase+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}
