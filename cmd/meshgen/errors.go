package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/meshgen/meshgen/observe/badinput"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitFindings = 1 // diff found differences; check found denied traffic; emit found edited managed files
	exitUsage    = 2 // bad flags, bad input files
	exitRuntime  = 3 // a server, the file system or the network failed
)

// findingsError reports that a command ran and found something (exit 1). Its
// report has already been written; the message is a one-line summary.
type findingsError struct{ msg string }

func (e *findingsError) Error() string { return e.msg }

// usageError is a misuse of the command line (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var fe *findingsError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &fe):
		return exitFindings
	case errors.As(err, &ue), badinput.Is(err), isCobraUsage(err):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitRuntime
	default:
		return exitRuntime
	}
}

// isCobraUsage recognises the errors cobra makes itself for unknown commands
// and bad arguments, which carry no type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
