package main

import (
	"testing"

	"github.com/meshgen/meshgen/hack/testenv"
)

// TestMain stops the shared test servers (kube-apiserver, etcd) that the
// integration tests of this package start.
func TestMain(m *testing.M) { testenv.Main(m) }
