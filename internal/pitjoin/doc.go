// Package pitjoin is the exact point-in-time join of training-set builds:
// it computes feature views' aggregations at each spine row's timestamp
// from the views' event shards, with nothing from after that timestamp.
//
// # Semantics
//
// For a spine row with join key k and timestamp t, a view's feature sees
// the events of key k with ts <= t; with a window w, those with
// t - w < ts <= t (the event at exactly t - w is out, the one at t in).
// Windows and ttl are converted to microseconds rounding up, which keeps
// both comparisons exact for microsecond timestamps.
//
//   - count counts the window's events; with a column, its non-null
//     values. count_distinct counts distinct non-null values (floats -0 and
//     0 are one value, and so are all NaNs). Both are 0 for an empty window.
//   - sum, mean, min and max ignore nulls and are null when the window has
//     no non-null value. sum of int64 is int64; sum of bool counts trues.
//     mean is sum / count of non-null values as float64 (for bool, the
//     fraction of trues; for int64, the exact sum rounded to float64, then
//     divided).
//   - sum of float64 is the exact sum of the window's values rounded once
//     to the nearest float64 (ties to even): it does not depend on order,
//     so it is reproducible and at least as accurate as any summation order
//     (a naive left-to-right sum may differ in the last bits). An exact sum
//     beyond the float64 range is ±Inf; NaN and infinities in the data
//     follow IEEE 754 (any NaN, or +Inf and -Inf together, give NaN); an
//     exact zero is -0 only when every value is -0.
//   - An int64 sum that does not fit an int64 fails the join with
//     ErrOverflow (as a SQL engine's cast would): a wrapped or saturated
//     number would be silently wrong training data. Partial sums may leave
//     the int64 range (128-bit accumulators); only the window's total
//     counts.
//   - min and max order int64 and timestamps numerically, strings by
//     bytes, floats numerically with NaN above every number (as DuckDB and
//     PostgreSQL do) and -0 equal to 0. Among equal values the newest event
//     wins, which only shows for -0/0 and NaN payloads.
//   - first and last take the value of the window's oldest and newest
//     event; events with equal timestamps keep source order, so last takes
//     the later one. The value is null when that event's value is null
//     (it does not skip to an older non-null value).
//   - ttl: a feature's value is null when its window is not empty and the
//     newest event in it is ttl or more older than t (ts <= t - ttl), as
//     the spec says: "a value whose newest contributing row is older than
//     ttl is null". The contributing rows are the window's events, null
//     values included. This nulls counts too (an entity last seen long ago
//     has an unknown count, not 0); an empty window still gives 0. A
//     feature whose window is at most ttl can never expire.
//   - A spine row with a null timestamp, a null join key, or a key with no
//     events gets 0 for counts and null for every other aggregate.
//   - Derived features are computed after the aggregates (ttl included),
//     per spine row, in the view's DerivedOrder, by features.Derived: a
//     null input gives null unless the expression mentions nil; division
//     by zero gives null.
//
// # Inputs
//
// Each view's events must be sorted by (join keys, timestamp) with ties in
// source order, as extraction writes them (shard.SortOrder), and have no
// null join key or timestamp (extraction drops those rows); Join checks
// both in O(n) and fails with ErrUnsorted or ErrInvalid. The spine may be
// in any order; outputs follow it.
//
// # How
//
// Per view: find where each entity's events start (the sortedness check),
// index the entities by key in an open-addressing hash table, look up
// each spine row's entity, and order the spine rows by (entity, time): a
// counting sort by entity, then each entity's rows by time (skipped when
// the spine is in time order). For every spine row and distinct window,
// two pointers give its window as a range of event indexes [lo, hi); over
// the spine rows in that order both ends only move forward. So counts are
// hi - lo; sums, means and counts of a column are differences of prefix
// sums (128-bit, exact, built per task over the events its windows
// cover), or slide when that span is huge or a float column has NaN, Inf
// or -0; min and max slide with two stacks (amortized O(1)), string min
// and max with a monotonic deque; count_distinct slides multiplicities of
// dictionary-encoded values; first and last read the window's ends.
// Results are scattered back to the spine's order (strings are copied in
// a second pass). Tasks are runs of whole entities, spread over
// Options.Workers goroutines.
//
// Time is O(spine + events) per view, plus sorting each entity's spine
// rows and the count_distinct dictionary. Memory is the output columns
// plus about 30 bytes per spine row and per task scratch. There are no
// per-row allocations, except in derived features, whose expression
// evaluator allocates (a few per row).
package pitjoin
