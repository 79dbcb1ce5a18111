//go:build tools

// Package tools pins the istioctl used by meshgen's integration tests.
// It is a separate module so that meshgen itself never depends on istio.io/istio.
package tools

import _ "istio.io/istio/istioctl/cmd/istioctl"
