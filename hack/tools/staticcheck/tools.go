//go:build tools

// Package tools pins the staticcheck used by make lint.
// It is a separate module so that meshgen itself never depends on it.
package tools

import _ "honnef.co/go/tools/cmd/staticcheck"
