//go:build tools

// Package tools pins the kube-apiserver used by meshgen's integration tests.
// It is a separate module so that meshgen itself never depends on k8s.io/kubernetes.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
