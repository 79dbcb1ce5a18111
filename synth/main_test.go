package synth_test

import (
	"testing"

	"github.com/meshgen/meshgen/hack/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
