package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newLearnCmd is being written; see the open issues.
func newLearnCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "learn",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("learn is not implemented yet")
		},
	}
}
