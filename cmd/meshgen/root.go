package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// streams are the standard streams a command reads and writes, injected so
// that tests can capture them.
type streams struct {
	in          io.Reader
	out, errOut io.Writer
}

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "meshgen",
		Short: "Least-privilege Istio policy from observed traffic",
		Long: `meshgen learns who calls whom in an Istio mesh (from Prometheus, access logs
and the cluster inventory), writes least-privilege AuthorizationPolicy and
PeerAuthentication manifests from that evidence, and checks and diffs them
against what is deployed.

  meshgen learn  --prometheus URL --window 7d -o observations.json
  meshgen emit   --observations observations.json --out policies/
  meshgen check  --observations observations.json --policies policies/
  meshgen diff   --policies policies/ --cluster

Exit codes: 0 ok, 1 findings (diff, check), 2 bad usage or input, 3 runtime failure.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(
		newVersionCmd(s),
		newLearnCmd(s),
		newEmitCmd(s),
		newCheckCmd(s),
		newDiffCmd(s),
	)
	return root
}

// run executes meshgen with args and returns the exit code. Errors are printed
// to errOut as one line.
func run(ctx context.Context, args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(s.errOut, "meshgen: %v\n", err)
	}
	return exitCode(err)
}
