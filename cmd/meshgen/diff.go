package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/policyset"
)

// choiceValue is a pflag.Value that accepts one of a fixed set of strings;
// a bad value fails at parse time (exit 2).
type choiceValue struct {
	v       *string
	choices []string
}

func (c choiceValue) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}
func (c choiceValue) Type() string { return "string" }
func (c choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(c.choices, ", "))
	}
	*c.v = s
	return nil
}

// diffOptions are the flags of meshgen diff.
type diffOptions struct {
	policies      string
	against       string
	kube          kubeFlags
	allNamespaces bool
	namespaces    []string
	observations  string
	output        string
	color         string
	templateDir   string
	mesh          meshFlags
	markdownLimit int
}

func newDiffOptions() *diffOptions {
	return &diffOptions{
		output:        diff.FormatText,
		color:         "auto",
		markdownLimit: diff.GitHubBodyLimit,
	}
}

func (o *diffOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.policies, "policies", "", "directory (or file) of the proposed policies, e.g. emit's --out; read recursively (required)")
	o.kube.addFlags(f, "cluster", "compare with the policies deployed in the cluster (security.istio.io, read with istio.io/client-go)", false)
	f.StringVar(&o.against, "against", "", "compare with the policies in this directory (or file) instead of the cluster, e.g. the main branch's checkout")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "with --cluster, also compare the namespaces where the cluster has meshgen's policies and --policies has none (needs list in all namespaces)")
	f.StringArrayVar(&o.namespaces, "namespace", nil, "compare only this namespace (repeatable); a namespace --policies lacks then shows meshgen's deployed policies as removed")
	f.StringVar(&o.observations, "observations", "", "observation snapshot: access changes are computed over its traffic, and losses of observed traffic are counted (\"would break\")")
	f.VarP(choiceValue{&o.output, []string{diff.FormatText, diff.FormatMarkdown, diff.FormatJSON}}, "output", "o", "output format: text, markdown (a pull-request body) or json")
	f.Var(choiceValue{&o.color, []string{"auto", "always", "never"}}, "color", "colour the text output: auto (on a terminal, unless $NO_COLOR is set), always or never")
	f.StringVar(&o.templateDir, "template-dir", "", "directory whose diff.txt.tmpl / diff.md.tmpl replace the built-in templates")
	o.mesh.addFlags(f)
	f.IntVar(&o.markdownLimit, "markdown-limit", o.markdownLimit, "maximum length of the Markdown output in characters (GitHub's pull-request body limit); longer reports show fewer items per section")
}

// Complete has nothing to resolve.
func (o *diffOptions) Complete(*cobra.Command) error { return nil }

// Validate checks the flags; errors name the flag.
func (o *diffOptions) Validate() error {
	switch {
	case o.policies == "":
		return usageErrorf("--policies is required")
	case o.against == "" && !o.kube.enabled():
		return usageErrorf("one of --cluster or --against is required")
	case o.against != "" && o.kube.enabled():
		return usageErrorf("--cluster and --against cannot be used together")
	case o.kube.validate() != nil:
		return o.kube.validate()
	case o.allNamespaces && !o.kube.enabled():
		return usageErrorf("--all-namespaces needs --cluster (with --against, every namespace of both directories is compared)")
	case o.allNamespaces && len(o.namespaces) > 0:
		return usageErrorf("--all-namespaces and --namespace cannot be used together")
	case o.mesh.validate() != nil:
		return o.mesh.validate()
	case o.markdownLimit < 1000:
		return usageErrorf("--markdown-limit: %d is too small (at least 1000)", o.markdownLimit)
	}
	for _, ns := range o.namespaces {
		if ns == "" {
			return usageErrorf("--namespace must not be empty")
		}
	}
	return nil
}

// Run compares and writes the report; differences are exit 1, as with
// kubectl diff.
func (o *diffOptions) Run(ctx context.Context, s streams) error {
	_, objs, err := policyset.LoadDir(o.policies)
	if err != nil {
		return fmt.Errorf("--policies: %w", err)
	}
	in := diff.Input{
		Proposed:           diff.FromFiles(objs),
		ProposedName:       o.policies,
		Namespaces:         o.namespaces,
		RootNamespace:      o.mesh.rootNamespace,
		TrustDomain:        o.mesh.trustDomain,
		TrustDomainAliases: o.mesh.aliases,
	}
	if o.observations != "" {
		snap, err := snapshot.ReadFile(o.observations)
		if err != nil {
			return fmt.Errorf("--observations: %w", err)
		}
		in.Snapshot, in.ObservationsName = snap, o.observations
	}
	if o.against != "" {
		_, dobjs, err := policyset.LoadDir(o.against)
		if err != nil {
			return fmt.Errorf("--against: %w", err)
		}
		in.Deployed, in.DeployedName = diff.FromFiles(dobjs), o.against
		in.AllManaged = len(o.namespaces) == 0
	} else {
		c, name, err := o.kube.istioClient()
		if err != nil {
			return err
		}
		var nss []string // all namespaces
		if !o.allNamespaces {
			nss = clusterNamespaces(in, o.mesh.rootNamespace)
		}
		ps, err := policyset.FromCluster(ctx, c, nss)
		if err != nil {
			return fmt.Errorf("--cluster: %w", err)
		}
		in.Deployed, in.DeployedName = diff.FromSet(ps, "cluster"), "cluster:"+name
		in.AllManaged = o.allNamespaces
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep, err := diff.Compute(in)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	ropts := diff.RenderOptions{Format: o.output, TemplateDir: o.templateDir, Color: o.useColor(s.out), MaxBytes: o.markdownLimit}
	if err := diff.Render(&b, rep, ropts); err != nil {
		var te *diff.TemplateError
		if errors.As(err, &te) && o.templateDir != "" {
			// An override template is user input.
			return badinput.Errorf("--template-dir: %w", err)
		}
		return err
	}
	if _, err := s.out.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if sum := rep.Summary; sum.Differences() {
		n := sum.Added + sum.Removed + sum.Changed
		msg := fmt.Sprintf("%d %s differ", n, pluralWord(n, "object", "objects"))
		if n == 1 {
			msg = "1 object differs"
		}
		if sum.BreakingRequests > 0 {
			msg += fmt.Sprintf("; %d observed %s would be denied", sum.BreakingRequests, pluralWord(int(min(sum.BreakingRequests, 2)), "request", "requests"))
		}
		return &findingsError{msg: msg}
	}
	return nil
}

// clusterNamespaces lists the namespaces to read from the cluster: those
// compared, and the root namespace (its policies apply everywhere).
func clusterNamespaces(in diff.Input, root string) []string {
	set := map[string]bool{root: true}
	if len(in.Namespaces) > 0 {
		for _, ns := range in.Namespaces {
			set[ns] = true
		}
	} else {
		for _, ob := range in.Proposed {
			set[ob.Meta().Namespace] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		if ns != "" {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// useColor decides whether the text output is coloured: --color always or
// never; auto colours a terminal unless NO_COLOR is set (https://no-color.org)
// or TERM is dumb.
func (o *diffOptions) useColor(w io.Writer) bool {
	if o.output != diff.FormatText {
		return false
	}
	switch o.color {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newDiffCmd(s streams) *cobra.Command {
	o := newDiffOptions()
	cmd := &cobra.Command{
		Use:   "diff --policies DIR (--cluster | --against DIR)",
		Short: "Compare proposed policies with the deployed ones: objects and access changes",
		Long: `diff compares the policies in --policies (what emit wrote, e.g. in a pull request)
with those deployed in the cluster (--cluster) or in another directory (--against):

  - per object, a unified diff of normalised YAML: security.istio.io v1beta1 and v1
    are the same resource, and defaults, ordering, comments and what the API server
    adds do not count as changes;
  - per namespace, with --observations, the access changes computed with the
    evaluator: which callers gain or lose which operations of which workloads, and
    for each loss whether that traffic was observed ("would break: 1,204 requests");
  - the deployed policies meshgen does not manage that apply to the same workloads
    (an existing DENY, another ALLOW), because Istio combines them with meshgen's.

The namespaces compared are those of --policies (or --namespace). The proposed side
is what the cluster would enforce after the change: the deployed policies, with
meshgen's (labelled app.kubernetes.io/managed-by: meshgen) in those namespaces
replaced by --policies.

Text output is coloured on a terminal; -o markdown is a pull-request body; -o json is
stable for scripts. Text and Markdown come from templates (--template-dir).

Exit codes, as kubectl diff: 0 no differences, 1 differences, 2 or more an error
(2 bad usage or input, 3 the cluster or the file system failed).`,
		Example: `  # a pull request's policies against the cluster, as a PR body
  meshgen diff --policies policies/ --cluster --observations observations.json -o markdown

  # against the main branch's checkout
  meshgen diff --policies policies/ --against ../main/policies/ --observations observations.json`,
		Args: cobra.NoArgs,
		RunE: runE(o, s),
	}
	o.AddFlags(cmd)
	return cmd
}
