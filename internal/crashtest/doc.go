// Package crashtest drives crash-safety runs of granary imports against
// real servers: it generates deterministic input, runs `granary worker` as
// a separate OS process that can be SIGKILLed, kills it at random moments
// while a workflow runs, and watches the lake the way a reader would, to
// catch a partially visible version.
//
// It is shared by the crash integration test (cli/crash_test.go) and the
// crash benchmark (bench/crash). It deliberately imports nothing above
// internal/: callers pass the workflow id, the progress query name and a
// function that starts the import.
package crashtest
