// Package depsanchor keeps pinned dependencies in go.mod until real code
// imports them. Delete it once every module below is used elsewhere.
package depsanchor

import (
	_ "github.com/expr-lang/expr"
	_ "github.com/goccy/go-yaml"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/urfave/cli/v2"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "go.temporal.io/sdk/worker"
	_ "go.temporal.io/sdk/workflow"
)
