package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCheckCmd is being written; see the open issues.
func newCheckCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "check",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("check is not implemented yet")
		},
	}
}
