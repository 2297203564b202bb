package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
)

// PolicyInput names one promotion.
type PolicyInput struct {
	Model   string `json:"model"`
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// PolicyResult is what the specs applied to the lake demand of promotions
// to an alias, and whether the candidate has held that alias before (a
// rollback to it restores a version that already passed them).
type PolicyResult struct {
	// Sources are the specs (project@version) that set a policy for the
	// alias; none means no policy.
	Sources         []string      `json:"sources,omitempty"`
	RequireApproval bool          `json:"require_approval,omitempty"`
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	Gates           []string      `json:"gates,omitempty"`
	NoChampion      string        `json:"no_champion,omitempty"`
	HeldBefore      bool          `json:"held_before,omitempty"`
}

// ReadPromotionPolicy reads the alias's promotion policy from every
// project's current spec. A spec that cannot be read fails the promotion:
// a policy that might exist is not skipped.
func (a *Activities) ReadPromotionPolicy(ctx context.Context, in PolicyInput) (PolicyResult, error) {
	l := lake.New(a.Store)
	res, err := PromotionPolicy(ctx, l, in.Model, in.Alias)
	if err != nil {
		return res, toTemporal(err)
	}
	if res.HeldBefore, err = HeldAlias(ctx, l, in.Model, in.Alias, in.Version); err != nil {
		return res, toTemporal(err)
	}
	return res, nil
}

// PromotionPolicy merges the policies that every project's current spec
// sets for a model's alias, the strictest way: approval if any requires
// it, every gate of each, the shortest approval timeout, and no_champion
// fail if any says so.
func PromotionPolicy(ctx context.Context, l *lake.Lake, model, alias string) (PolicyResult, error) {
	var res PolicyResult
	projects, err := l.ListNames(ctx, lake.KindSpec)
	if err != nil {
		return res, err
	}
	for _, p := range projects {
		id, err := l.Resolve(ctx, lake.KindSpec, p.Name, "latest")
		if errors.Is(err, lake.ErrNotFound) {
			continue // versions without an applied ref: not a current spec
		}
		if err != nil {
			return res, err
		}
		spec, err := LoadSpec(ctx, l, p.Name, id)
		if err != nil {
			return res, fmt.Errorf("promotion policy: spec %s@%s: %w", p.Name, lake.ShortID(id), err)
		}
		pol := spec.AliasPolicy(model, alias)
		if pol == nil {
			continue
		}
		res.Sources = append(res.Sources, p.Name+"@"+lake.ShortID(id))
		res.RequireApproval = res.RequireApproval || pol.RequireApproval
		if pol.ApprovalTimeout > 0 && (res.ApprovalTimeout == 0 || pol.ApprovalTimeout < res.ApprovalTimeout) {
			res.ApprovalTimeout = pol.ApprovalTimeout
		}
		res.Gates = MergeGates(res.Gates, pol.Gates)
		if pol.NoChampion == features.NoChampionFail {
			res.NoChampion = features.NoChampionFail
		}
	}
	return res, nil
}

// MergeGates appends the gates of more that base does not already have.
func MergeGates(base, more []string) []string {
	out := slices.Clone(base)
	for _, g := range more {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// HeldAlias reports whether version has ever been moved to a model's
// alias, by the alias's ref log.
func HeldAlias(ctx context.Context, l *lake.Lake, model, alias, version string) (bool, error) {
	moves, err := l.Log(ctx, lake.KindModel, model)
	if err != nil {
		return false, err
	}
	for _, m := range moves {
		if m.Ref == alias && m.To == version {
			return true, nil
		}
	}
	return false, nil
}
