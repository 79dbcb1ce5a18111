package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/policyset"
	"github.com/meshgen/meshgen/templates"
)

// checkFormat is the -o value of meshgen check; bad values fail at parse time.
type checkFormat string

const (
	checkText     checkFormat = "text"
	checkJSON     checkFormat = "json"
	checkMarkdown checkFormat = "markdown"
)

var checkFormats = []checkFormat{checkText, checkJSON, checkMarkdown}

func (f *checkFormat) String() string { return string(*f) }
func (f *checkFormat) Type() string   { return "format" }
func (f *checkFormat) Set(v string) error {
	for _, c := range checkFormats {
		if v == string(c) {
			*f = c
			return nil
		}
	}
	return fmt.Errorf("%q is not one of text, json, markdown", v)
}

// checkOptions are the flags of meshgen check.
type checkOptions struct {
	observations string
	policies     string
	kube         kubeFlags
	baseline     string
	output       checkFormat
	templateDir  string
	mesh         meshFlags
	minRequests  int64
}

func newCheckOptions() *checkOptions {
	return &checkOptions{output: checkText}
}

func (o *checkOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.observations, "observations", "", "observation snapshot to replay (required; .gz is decompressed)")
	f.StringVar(&o.policies, "policies", "", "directory (or file) of policy YAML to check; read recursively")
	o.kube.addFlags(f, "cluster", "check the policies deployed in the cluster instead of --policies", false)
	f.StringVar(&o.baseline, "baseline", "", "directory of the policies in force now, for the privilege summary (default: no policy, everything allowed)")
	f.VarP(&o.output, "output", "o", "output format: text, json or markdown")
	f.StringVar(&o.templateDir, "template-dir", "", "directory whose check.txt.tmpl / check.md.tmpl replace the built-in templates")
	o.mesh.addFlags(f)
	f.Int64Var(&o.minRequests, "min-requests", 0, "do not replay (caller, workload) pairs with fewer allowed requests, as emit --min-requests leaves them out (0: replay all)")
}

// Complete has nothing to resolve before Validate; the trust domain default
// needs the snapshot and is resolved in Run.
func (o *checkOptions) Complete(*cobra.Command) error { return nil }

// Validate checks the flags; errors name the flag.
func (o *checkOptions) Validate() error {
	switch {
	case o.observations == "":
		return usageErrorf("--observations is required")
	case o.policies == "" && !o.kube.enabled():
		return usageErrorf("one of --policies or --cluster is required")
	case o.policies != "" && o.kube.enabled():
		return usageErrorf("--policies and --cluster cannot be used together")
	case o.kube.validate() != nil:
		return o.kube.validate()
	case o.minRequests < 0:
		return usageErrorf("--min-requests: %d is negative", o.minRequests)
	case o.mesh.validate() != nil:
		return o.mesh.validate()
	}
	return nil
}

// Run replays the snapshot against the policies and writes the report.
func (o *checkOptions) Run(ctx context.Context, s streams) error {
	snap, err := snapshot.ReadFile(o.observations)
	if err != nil {
		return fmt.Errorf("--observations: %w", err)
	}
	ps, source, err := o.loadPolicies(ctx)
	if err != nil {
		return err
	}
	td := o.mesh.resolvedTrustDomain(snap)
	o.mesh.apply(td, ps)
	copts := eval.CheckOptions{TrustDomain: td, MinRequests: o.minRequests}
	if o.baseline != "" {
		base, _, err := policyset.LoadDir(o.baseline)
		if err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
		o.mesh.apply(td, base)
		copts.Baseline = base
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep := eval.Check(snap, ps, copts)
	rep.Observations, rep.Policies, rep.Baseline = o.observations, source, o.baseline

	var b bytes.Buffer
	switch o.output {
	case checkJSON:
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("encoding the report: %w", err)
		}
	default:
		name := "check.txt.tmpl"
		if o.output == checkMarkdown {
			name = "check.md.tmpl"
		}
		if err := templates.Render(&b, name, o.templateDir, rep); err != nil {
			if o.templateDir != "" {
				// An override template is user input.
				return badinput.Errorf("--template-dir: %w", err)
			}
			return err
		}
	}
	if _, err := s.out.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if n := len(rep.Denied); n > 0 {
		return &findingsError{msg: fmt.Sprintf("%d observed %s would be denied", n, pluralWord(n, "edge", "edges"))}
	}
	return nil
}

// loadPolicies reads --policies or the cluster; source names it for the report.
func (o *checkOptions) loadPolicies(ctx context.Context) (ps *eval.PolicySet, source string, err error) {
	if !o.kube.enabled() {
		ps, _, err := policyset.LoadDir(o.policies)
		if err != nil {
			return nil, "", fmt.Errorf("--policies: %w", err)
		}
		return ps, o.policies, nil
	}
	c, name, err := o.kube.istioClient()
	if err != nil {
		return nil, "", err
	}
	ps, err = policyset.FromCluster(ctx, c, nil)
	if err != nil {
		return nil, "", fmt.Errorf("--cluster: %w", err)
	}
	return ps, "cluster:" + name, nil
}

func pluralWord(n int, singular, plural string) string {
	if n == 1 {
		return singular
	}
	return plural
}

func newCheckCmd(s streams) *cobra.Command {
	o := newCheckOptions()
	cmd := &cobra.Command{
		Use:   "check --observations FILE (--policies DIR | --cluster)",
		Short: "Replay observed traffic against policies and report what they would deny",
		Long: `check replays every observed request that was allowed (every edge of the snapshot
with allowed requests) against a policy set, at each enforcement point on its path -
the destination's sidecar; or in ambient mode its ztunnel, and the waypoint in front
of it with the identity ztunnel then sees - following Istio's semantics exactly.

It reports each edge that would be denied, with the policy and rule responsible (or
"no ALLOW rule matched"), the edges whose outcome cannot be decided (for example a
path rule on metrics-only evidence, which has no path), and a privilege summary: of
every (caller, workload, operation) combination seen in the snapshot, how many the
baseline (--baseline, default no policy) and the policy set allow.

Client-reported edges (reporter "source") are not replayed when server-side evidence
exists for the same caller and workload. Exit code 1 when any observed edge would be
denied; undecided edges alone do not fail the check.`,
		Args: cobra.NoArgs,
		RunE: runE(o, s),
	}
	o.AddFlags(cmd)
	return cmd
}
