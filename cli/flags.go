package cli

import (
	ucli "github.com/urfave/cli/v2"
)

const (
	flagTemporalAddress = "temporal-address"
	flagNamespace       = "namespace"
	flagLake            = "lake"
	flagOutput          = "output"
	flagUIURL           = "ui-url"
)

func globalFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{
			Name:    flagTemporalAddress,
			Usage:   "Temporal frontend `HOST:PORT`",
			Value:   DefaultTemporalAddress,
			EnvVars: []string{"GRANARY_TEMPORAL_ADDRESS"},
		},
		&ucli.StringFlag{
			Name:    flagNamespace,
			Usage:   "Temporal `NAMESPACE`",
			Value:   DefaultNamespace,
			EnvVars: []string{"GRANARY_NAMESPACE"},
		},
		&ucli.StringFlag{
			Name:    flagLake,
			Usage:   "lake `URL`: file:///abs/dir, file://rel/dir or s3://bucket/prefix?endpoint=host:port&secure=false (S3 credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or MINIO_ROOT_USER/MINIO_ROOT_PASSWORD)",
			Value:   DefaultLake,
			EnvVars: []string{"GRANARY_LAKE"},
		},
		&ucli.StringFlag{
			Name:    flagUIURL,
			Usage:   "Temporal UI base `URL`, used to print links to runs",
			Value:   DefaultUIURL,
			EnvVars: []string{"GRANARY_UI_URL"},
		},
		&ucli.StringFlag{
			Name:    flagOutput,
			Aliases: []string{"o"},
			Usage:   "output `FORMAT`: text or json",
			Value:   "text",
			EnvVars: []string{"GRANARY_OUTPUT"},
		},
	}
}
