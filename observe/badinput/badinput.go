// Package badinput marks errors caused by what the user gave meshgen (a
// damaged file, a malformed line, an invalid config value) rather than by a
// failure at run time, so that the command line can exit with code 2.
package badinput

import (
	"errors"
	"fmt"
)

// ErrBadInput matches, with errors.Is, every error made by this package.
var ErrBadInput = errors.New("bad input")

type inputError struct{ err error }

func (e *inputError) Error() string        { return e.err.Error() }
func (e *inputError) Unwrap() error        { return e.err }
func (e *inputError) Is(target error) bool { return target == ErrBadInput }

// New returns a bad-input error with the given text; use it for sentinels.
func New(text string) error { return &inputError{errors.New(text)} }

// Errorf formats a bad-input error; %w wraps as in fmt.Errorf.
func Errorf(format string, a ...any) error { return &inputError{fmt.Errorf(format, a...)} }

// Mark makes err a bad-input error, keeping its text and chain. Mark(nil) is nil.
func Mark(err error) error {
	if err == nil {
		return nil
	}
	return &inputError{err}
}

// Is reports whether err was caused by bad input.
func Is(err error) bool { return errors.Is(err, ErrBadInput) }
