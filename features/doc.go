// Package features is granary's feature-spec domain: the spec types, YAML
// parsing and validation, and the filter and derived-feature expressions.
// It is pure: it parses bytes and evaluates values, and does no other I/O.
//
// # The spec
//
// A spec is one YAML document:
//
//	project: shop
//	entities:
//	  - name: user
//	    join_keys: [user_id]          # one or more columns
//	sources:
//	  - name: orders
//	    dataset: orders               # a lake dataset; builds pin its version
//	    timestamp: event_time         # a timestamp column
//	    filter: "amount > 0"          # optional predicate over the source's columns
//	feature_views:
//	  - name: user_orders
//	    entity: user
//	    source: orders
//	    ttl: 720h                     # optional
//	    features:
//	      - {name: orders_7d,  agg: count, window: 168h}
//	      - {name: spend_30d,  agg: sum,   column: amount, window: 720h}
//	      - {name: max_30d,    agg: max,   column: amount, window: 720h}
//	      - {name: last_cat,   agg: last,  column: category}
//	      - {name: avg_order,  expr: "spend_30d / max(orders_7d, 1)"}
//	training_sets:
//	  - name: churn
//	    spine: {dataset: churn_labels, timestamp: event_timestamp}
//	    features: [user_orders]       # or user_orders:spend_30d
//	    split: {by: user_id, train: 0.8, valid: 0.1, test: 0.1, seed: 7}
//
// Fields:
//
//   - project: the project's name.
//   - entities: what features describe. join_keys lists the columns that
//     identify one entity, in sources and in spines alike.
//   - sources: a lake dataset of events, its timestamp column, and an
//     optional filter; rows for which the filter is not true are ignored.
//   - feature_views: features of one entity computed from one source. A
//     feature is either aggregated (agg, with column unless agg is count,
//     and an optional window) or derived (expr over the view's other
//     features), never both. ttl is optional.
//   - training_sets: a spine dataset (join keys, a timestamp, labels) and
//     the features to join onto it, as view (every feature of the view) or
//     view:feature; an optional split.
//
// Names of the project, entities, sources, views, features and training
// sets become column and dataset names: 1-63 characters of a-z, 0-9 and
// '_', starting with a letter, unique among their kind (features: within
// their view). A feature name cannot be an expression keyword (and, or, not,
// in, matches, contains, let, if, else, nil, true, false) or the name of an
// expression function (max, count, ...), nor one of its view's join keys or
// source timestamp column. Dataset names follow the lake's rule. A training
// set's output columns are named by feature, so the features it selects
// must have distinct names, different from the spine's columns.
//
// Durations (window, ttl) are Go durations ("168h", "90m", "1h30m") whose
// components may also use d (24h) and w (7d): "7d", "2w", "1d12h". They are
// positive and at most 100 years; leave the field out for no limit.
//
// YAML anchors, aliases and merge keys (<<) work; top-level fields whose
// names start with "x-" are ignored, as a place to define anchors.
// Comments, layout, quoting and duration spelling do not change a spec's
// Digest.
//
// # Semantics
//
// Features are exact and point-in-time correct. For a spine row of entity
// k at time t:
//
//   - A feature with a window aggregates k's source rows with
//     t - window < ts <= t; without a window, every row with ts <= t.
//     Nothing from after t ever leaks in.
//   - Rows with equal timestamps keep the source's row order (a stable
//     sort), so last takes the later of them and first the earlier.
//   - count counts rows (with a column: rows where it is not null);
//     count_distinct counts distinct non-null values; sum, mean, min and max
//     ignore nulls; first and last take the value of the oldest and newest
//     row (ts <= t, within the window), null if that value is null.
//   - An empty window gives 0 for count and count_distinct and null for the
//     others (SQL semantics); sum, mean, min and max of only nulls are null.
//   - With ttl, a value whose newest contributing row is older than ttl at
//     lookup time (ts <= t - ttl) is null.
//   - Result types (OutputType): count and count_distinct are int64; sum
//     is int64 over int64 and bool columns, float64 over float64; mean is
//     float64; min, max, first and last have the column's type. sum and mean
//     need a numeric or bool column; min and max an orderable one (int64,
//     float64, timestamp, string).
//   - Derived features are computed after aggregation, in DerivedOrder, from
//     the values of the same spine row.
//   - Splits are a deterministic hash of the split column's value and the
//     seed, so one entity never straddles splits. Fractions are in [0, 1]
//     and add up to 1.
//
// # Expressions
//
// Filters and derived features are expr-lang expressions
// (https://expr-lang.org). A filter reads source columns and gives a bool;
// a derived feature reads its view's features and gives a number, bool or
// string. Values are int64, float64, string, bool and time.Time (timestamps,
// UTC); date() parses in UTC; now() is rejected (a feature must give the
// same value whenever it is computed).
//
// Nulls: an expression that does not mention nil is not evaluated when a
// value it reads is null: a filter drops the row (like SQL's WHERE, which
// keeps only rows where the predicate is true), a derived feature is null.
// An expression that mentions nil (x == nil, x ?? 0.0) handles nulls
// itself: it is evaluated with nil for null, and if it then fails, the
// filter drops the row and the derived feature is null.
//
// Division by zero: a derived feature is null when its result would be
// ±Inf or NaN (x / 0, 0 / 0) or when an integer modulo divides by zero, so
// no Inf or NaN reaches training data. In a filter, an integer modulo by
// zero drops the row and float division follows IEEE 754 (x / 0 > 1 is
// true; NaN compares false).
//
// Compile expressions once (CompileFilter, CompileDerived,
// FeatureView.CompileDerived) and evaluate them per row.
//
// # Validation
//
// Parse checks everything that needs no data: YAML syntax, field names
// (unknown ones are rejected with the nearest valid one), value types,
// names, references between entries (with did-you-mean suggestions),
// aggregations, windows, splits, expression syntax, the features derived
// expressions read, and cycles among derived features. Check adds what
// needs the datasets' schemas: columns exist and have suitable types, and
// expressions type-check. Both report every problem at once (up to
// MaxProblems) as Errors, each with file:line:column and the field's path,
// e.g.
//
//	shop.yaml:23:33: feature_views[0].features[2].agg: unknown aggregation 'avg'; did you mean 'mean'?
package features
