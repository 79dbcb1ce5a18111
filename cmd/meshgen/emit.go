package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newEmitCmd is being written; see the open issues.
func newEmitCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "emit",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("emit is not implemented yet")
		},
	}
}
