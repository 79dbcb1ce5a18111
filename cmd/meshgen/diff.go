package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDiffCmd is being written; see the open issues.
func newDiffCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "diff",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("diff is not implemented yet")
		},
	}
}
