package features

import (
	"strings"
	"unicode/utf8"
)

// nearest returns the candidate closest to s by edit distance (adjacent
// transpositions count once), or "" when none is close enough to be a
// plausible typo. Ties go to the earlier candidate, so suggestions are
// deterministic.
func nearest(s string, candidates []string) string {
	if len(candidates) > maxSuggestCandidates {
		return "" // not worth the time; names are not picked from thousands
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == s {
			continue
		}
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d > typoBudget(c) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// maxSuggestCandidates bounds the work of one suggestion.
const maxSuggestCandidates = 1000

// typoBudget allows more edits in longer names; one edit on a three-letter
// word already makes most of it up.
func typoBudget(name string) int {
	switch n := utf8.RuneCountInString(name); {
	case n <= 3:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// editDistance is the optimal string alignment distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		// Names are short; anything this long is not a typo of one.
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// didYouMean formats the suggestion suffix for an unknown name, or lists
// the valid names when there are few and none is close.
func didYouMean(s string, candidates []string) string {
	if n := nearest(s, candidates); n != "" {
		return "; did you mean '" + n + "'?"
	}
	if len(candidates) > 0 && len(candidates) <= 8 {
		return " (valid: " + strings.Join(candidates, ", ") + ")"
	}
	return ""
}

// aggSynonyms maps spellings from other tools to our aggregation names,
// which edit distance alone would not find (avg is four edits from mean).
var aggSynonyms = map[string]Agg{
	"avg":                   Mean,
	"average":               Mean,
	"total":                 Sum,
	"cnt":                   Count,
	"minimum":               Min,
	"maximum":               Max,
	"latest":                Last,
	"newest":                Last,
	"last_value":            Last,
	"earliest":              First,
	"oldest":                First,
	"first_value":           First,
	"distinct":              CountDistinct,
	"nunique":               CountDistinct,
	"n_unique":              CountDistinct,
	"unique":                CountDistinct,
	"count_unique":          CountDistinct,
	"distinct_count":        CountDistinct,
	"approx_count_distinct": CountDistinct,
}

func suggestAgg(s string) string {
	if a, ok := aggSynonyms[strings.ToLower(s)]; ok {
		return "; did you mean '" + string(a) + "'?"
	}
	names := make([]string, 0, len(Aggs()))
	for _, a := range Aggs() {
		names = append(names, string(a))
	}
	return didYouMean(s, names)
}
