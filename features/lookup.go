package features

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNotFound matches (errors.Is) a lookup of a name the spec does not
// define.
var ErrNotFound = errors.New("not defined in the feature spec")

// View returns the named feature view with its source and entity.
func (s *Spec) View(name string) (*FeatureView, *Source, *Entity, error) {
	for i := range s.FeatureViews {
		fv := &s.FeatureViews[i]
		if fv.Name != name {
			continue
		}
		src, ent := s.source(fv.Source), s.entity(fv.Entity)
		if src == nil {
			return nil, nil, nil, fmt.Errorf("%w: feature view '%s' reads unknown source '%s'", ErrNotFound, name, fv.Source)
		}
		if ent == nil {
			return nil, nil, nil, fmt.Errorf("%w: feature view '%s' is of unknown entity '%s'", ErrNotFound, name, fv.Entity)
		}
		return fv, src, ent, nil
	}
	names := make([]string, len(s.FeatureViews))
	for i, fv := range s.FeatureViews {
		names[i] = fv.Name
	}
	return nil, nil, nil, fmt.Errorf("%w: unknown feature view '%s'%s", ErrNotFound, name, didYouMean(name, names))
}

// TrainingSet returns the named training set.
func (s *Spec) TrainingSet(name string) (*TrainingSet, error) {
	names := make([]string, len(s.TrainingSets))
	for i := range s.TrainingSets {
		if s.TrainingSets[i].Name == name {
			return &s.TrainingSets[i], nil
		}
		names[i] = s.TrainingSets[i].Name
	}
	return nil, fmt.Errorf("%w: unknown training set '%s'%s", ErrNotFound, name, didYouMean(name, names))
}

// ViewColumns lists the source columns the named view needs, each once:
// the entity's join keys in order, the source's timestamp, the aggregated
// columns in feature order, then the columns the source filter reads,
// sorted. Extraction reads only these.
func (s *Spec) ViewColumns(view string) ([]string, error) {
	fv, src, ent, err := s.View(view)
	if err != nil {
		return nil, err
	}
	var cols []string
	seen := make(map[string]bool)
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	for _, k := range ent.JoinKeys {
		add(k)
	}
	add(src.Timestamp)
	for _, f := range fv.Features {
		if !f.Derived() {
			add(f.Column)
		}
	}
	filterCols, err := src.FilterColumns()
	if err != nil {
		return nil, err
	}
	for _, c := range filterCols {
		add(c)
	}
	return cols, nil
}

// FilterColumns lists the columns the source's filter reads, sorted; none
// without a filter.
func (src *Source) FilterColumns() ([]string, error) {
	if src.Filter == "" {
		return nil, nil
	}
	info, err := analyze(src.Filter)
	if err != nil {
		return nil, fmt.Errorf("source '%s' filter: %w", src.Name, err)
	}
	cols := slices.Clone(info.idents)
	slices.Sort(cols)
	return cols, nil
}

// Selected expands a training set's feature references into (view,
// feature) pairs in spec order: a whole-view reference becomes each of
// the view's features.
func (s *Spec) Selected(t *TrainingSet) ([]FeatureRef, error) {
	var out []FeatureRef
	views := s.index().views
	inView := make(map[*FeatureView]map[string]bool)
	for _, ref := range t.Features {
		fv := views[ref.View]
		if fv == nil {
			_, _, _, err := s.View(ref.View)
			return nil, err
		}
		if ref.Feature != "" {
			if inView[fv] == nil {
				inView[fv] = make(map[string]bool, len(fv.Features))
				for _, f := range fv.Features {
					inView[fv][f.Name] = true
				}
			}
			if !inView[fv][ref.Feature] {
				names := make([]string, len(fv.Features))
				for i, f := range fv.Features {
					names[i] = f.Name
				}
				return nil, fmt.Errorf("%w: unknown feature '%s' in view '%s'%s", ErrNotFound, ref.Feature, ref.View, didYouMean(ref.Feature, names))
			}
			out = append(out, ref)
			continue
		}
		for _, f := range fv.Features {
			out = append(out, FeatureRef{View: fv.Name, Feature: f.Name})
		}
	}
	return out, nil
}
