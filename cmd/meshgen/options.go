package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/meshgen/meshgen/observe/badinput"
)

// commandOptions is the life cycle of every command's options: Complete
// resolves defaults that need the command (which flags were set), Validate
// checks the flags and names them in its errors, Run does the work.
type commandOptions interface {
	Complete(*cobra.Command) error
	Validate() error
	Run(context.Context, streams) error
}

// runE returns the RunE of a command whose flags fill o. Errors from Complete
// and Validate are usage errors (exit 2) unless they already carry a type.
func runE(o commandOptions, s streams) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := o.Complete(cmd); err != nil {
			return markUsage(err)
		}
		if err := o.Validate(); err != nil {
			return markUsage(err)
		}
		return o.Run(cmd.Context(), s)
	}
}

// markUsage turns err into a usage error (exit 2) unless it is one already or
// is marked as bad input.
func markUsage(err error) error {
	var ue *usageError
	if errors.As(err, &ue) || badinput.Is(err) {
		return err
	}
	return &usageError{err}
}
