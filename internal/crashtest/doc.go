// Package crashtest drives crash-safety runs of granary's long workflows
// (imports, feature extractions, training-set builds) against real
// servers: it generates deterministic input, runs `granary worker` as a
// separate OS process that can be SIGKILLed, kills it at random moments
// (or at random moments of chosen steps) while a workflow runs, and
// watches the lake the way a reader would, to catch a partially visible
// version.
//
// It is shared by the crash integration tests (cli/crash_*_test.go) and
// the crash benchmark (bench/crash). It deliberately imports nothing
// above internal/: callers pass the workflow id, the progress query name
// and a function that starts the workflow, and run granary commands for
// a Workload through a CLI function.
package crashtest
