package cli

import (
	ucli "github.com/urfave/cli/v2"
)

func datasetCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "dataset",
		Usage: "import, inspect, compare, tag, export and clean up versioned datasets",
		Description: `Every import, feature view and training set is a dataset version: an
immutable, content-addressed manifest in the lake whose id is the sha256 of
its content. Refs (latest, and tags you choose) point at versions and only
move by compare-and-swap. NAME@REF takes an alias, a full id, or a unique id
prefix of at least 8 characters; NAME alone means NAME@latest.`,
		Subcommands: []*ucli.Command{
			datasetImportCommand(),
			datasetListCommand(),
			datasetShowCommand(),
			datasetLogCommand(),
			datasetDiffCommand(),
			datasetTagCommand(),
			datasetExportCommand(),
			datasetGCCommand(),
		},
	}
}
