package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/config"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/render"
	"github.com/meshgen/meshgen/synth/repo"
)

// emitOptions are the flags of meshgen emit.
type emitOptions struct {
	observations      string
	out               string
	configPath        string
	mode              string
	trustDomain       string
	aliases           []string
	minRequests       int64
	dryRun            bool
	defaultDeny       bool
	istioVersion      string
	plaintext         string
	namespaces        []string
	excludeNamespaces []string
	siblingThreshold  int
	maxPaths          int
	force             bool

	// Set by Complete.
	synth      synth.Options
	configUsed string
	command    string
}

func newEmitOptions() *emitOptions {
	d := synth.DefaultOptions()
	return &emitOptions{
		mode:         string(d.Mode),
		minRequests:  d.MinRequests,
		istioVersion: d.IstioVersion.String(),
		plaintext:    string(d.Plaintext),
	}
}

func (o *emitOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.observations, "observations", "", "observation snapshot to read (required; .gz is decompressed)")
	f.StringVarP(&o.out, "out", "o", "", `directory to write the policies to, one directory per namespace; "-" or empty prints one YAML stream to stdout`)
	f.StringVar(&o.configPath, "config", "", "meshgen.yaml with defaults, overrides and exclusions (default: <out>/meshgen.yaml when it exists)")
	f.StringVar(&o.mode, "mode", o.mode, "data plane to write policies for: sidecar, ambient, or auto (from the inventory)")
	f.StringVar(&o.trustDomain, "trust-domain", "", "the mesh's trust domain (default: from the observed principals, else cluster.local)")
	f.StringArrayVar(&o.aliases, "trust-domain-alias", nil, "a trust domain alias of the mesh (repeatable); ztunnel policies name principals once per trust domain")
	f.Int64Var(&o.minRequests, "min-requests", o.minRequests, "leave out caller/destination pairs with fewer requests, and list them for review")
	f.BoolVar(&o.dryRun, "dry-run", false, `mark every AuthorizationPolicy with istio.io/dry-run: "true" (evaluated, not enforced)`)
	f.BoolVar(&o.defaultDeny, "default-deny", false, "add an allow-nothing policy to every namespace written")
	f.StringVar(&o.istioVersion, "istio-version", o.istioVersion, "Istio version of the mesh; below 1.22 path templates fall back to prefix matches")
	f.StringVar(&o.plaintext, "plaintext", o.plaintext, "for a workload that received plaintext: no-allow (no ALLOW policy) or allow-port (open only those ports to any caller)")
	f.StringArrayVar(&o.namespaces, "namespace", nil, "write policies only for this destination namespace (repeatable)")
	f.StringArrayVar(&o.excludeNamespaces, "exclude-namespace", nil, `write no policies for this destination namespace (repeatable; "prefix*" allowed)`)
	f.IntVar(&o.siblingThreshold, "path-sibling-threshold", 0, "distinct sibling path segments that become {*} (0: default)")
	f.IntVar(&o.maxPaths, "max-paths-per-rule", 0, "cap on path values per rule; past it, subtrees merge into {**} and the summary says so (0: default)")
	f.BoolVar(&o.force, "force", false, "with --out DIR, overwrite (or prune) meshgen's files that a person edited; files meshgen does not manage are never touched")
}

// Complete builds the synthesis options: defaults, then meshgen.yaml, then
// the flags the user set.
func (o *emitOptions) Complete(cmd *cobra.Command) error {
	opts := synth.DefaultOptions()
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	if cfg != nil {
		cfg.Apply(&opts)
	}
	if err := o.applyFlags(cmd, &opts); err != nil {
		return err
	}
	o.synth = opts
	o.command = o.commandLine(cmd)
	return nil
}

// loadConfig reads --config, or meshgen.yaml in --out when it exists.
func (o *emitOptions) loadConfig() (*config.File, error) {
	path := o.configPath
	if path == "" {
		if o.toStdout() {
			return nil, nil
		}
		path = filepath.Join(o.out, config.FileName)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	o.configUsed = path
	return cfg, nil
}

// applyFlags sets the flags the user gave on opts. A flag beats the file's
// default and its per-namespace overrides of the same setting.
func (o *emitOptions) applyFlags(cmd *cobra.Command, opts *synth.Options) error {
	changed := cmd.Flags().Changed
	if changed("mode") {
		m, err := synth.ParseMode(o.mode)
		if err != nil {
			return usageErrorf("--mode: %w", err)
		}
		opts.Mode = m
		clearNamespaceOverride(opts, func(n *synth.NamespaceOptions) { n.Mode = nil })
	}
	if changed("trust-domain") {
		opts.TrustDomain = o.trustDomain
	}
	if changed("trust-domain-alias") {
		opts.TrustDomainAliases = o.aliases
	}
	if changed("min-requests") {
		opts.MinRequests = o.minRequests
		clearNamespaceOverride(opts, func(n *synth.NamespaceOptions) { n.MinRequests = nil })
	}
	if changed("dry-run") {
		opts.DryRun = o.dryRun
		clearNamespaceOverride(opts, func(n *synth.NamespaceOptions) { n.DryRun = nil })
	}
	if changed("default-deny") {
		opts.DefaultDeny = o.defaultDeny
		clearNamespaceOverride(opts, func(n *synth.NamespaceOptions) { n.DefaultDeny = nil })
	}
	if changed("istio-version") {
		v, err := synth.ParseVersion(o.istioVersion)
		if err != nil {
			return usageErrorf("--istio-version: %w", err)
		}
		opts.IstioVersion = v
	}
	if changed("plaintext") {
		p, err := synth.ParsePlaintext(o.plaintext)
		if err != nil {
			return usageErrorf("--plaintext: %w", err)
		}
		opts.Plaintext = p
		clearNamespaceOverride(opts, func(n *synth.NamespaceOptions) { n.Plaintext = nil })
	}
	if changed("namespace") {
		opts.Namespaces = o.namespaces
	}
	if changed("exclude-namespace") {
		opts.ExcludeNamespaces = append(opts.ExcludeNamespaces, o.excludeNamespaces...)
	}
	if changed("path-sibling-threshold") {
		opts.PathSiblingThreshold = o.siblingThreshold
	}
	if changed("max-paths-per-rule") {
		opts.MaxPathsPerRule = o.maxPaths
	}
	return nil
}

func clearNamespaceOverride(opts *synth.Options, clear func(*synth.NamespaceOptions)) {
	for ns, n := range opts.PerNamespace {
		clear(&n)
		opts.PerNamespace[ns] = n
	}
}

// Validate checks the flags; errors name the flag.
func (o *emitOptions) Validate() error {
	switch {
	case o.observations == "":
		return usageErrorf("--observations is required")
	case o.minRequests < 0:
		return usageErrorf("--min-requests: %d is negative", o.minRequests)
	case o.siblingThreshold < 0:
		return usageErrorf("--path-sibling-threshold: %d is negative", o.siblingThreshold)
	case o.maxPaths < 0:
		return usageErrorf("--max-paths-per-rule: %d is negative", o.maxPaths)
	}
	if o.trustDomain != "" {
		if err := snapshot.ValidTrustDomain(o.trustDomain); err != nil {
			return usageErrorf("--trust-domain: %w", err)
		}
	}
	for _, a := range o.aliases {
		if err := snapshot.ValidTrustDomain(a); err != nil {
			return usageErrorf("--trust-domain-alias: %w", err)
		}
	}
	if err := o.synth.Validate(); err != nil {
		if o.configUsed != "" {
			return usageErrorf("options from %s and flags: %w", o.configUsed, err)
		}
		return usageErrorf("%w", err)
	}
	return nil
}

// Run reads the snapshot, synthesizes, and writes the manifests and the
// summary. Nothing is written when any step fails.
func (o *emitOptions) Run(ctx context.Context, s streams) error {
	snap, err := snapshot.ReadFile(o.observations)
	if err != nil {
		return fmt.Errorf("--observations: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := synth.Synthesize(snap, o.synth)
	if err != nil {
		return err
	}
	ropts := render.Options{Command: o.command, Comments: true}
	if o.toStdout() {
		b, err := render.Stream(res, ropts)
		if err != nil {
			return err
		}
		if _, err := s.out.Write(b); err != nil {
			return fmt.Errorf("writing policies to stdout: %w", err)
		}
	} else {
		files, err := render.Files(res, ropts)
		if err != nil {
			return err
		}
		written, err := repo.Apply(o.out, files, repo.Options{Owns: o.owns, Force: o.force})
		if err != nil {
			var ce *repo.ConflictError
			if errors.As(err, &ce) {
				return &findingsError{msg: err.Error()}
			}
			return err
		}
		defer reportRepo(s.errOut, o.out, written)
	}
	return render.Summary(s.errOut, res)
}

// owns reports whether this run is responsible for the directory of
// namespace ns, that is whether synthesis writes policies for ns
// (--namespace, --exclude-namespace and meshgen.yaml's exclusions, the root
// namespace): meshgen's files there are rewritten or pruned, and those of
// other namespaces are left as they are.
func (o *emitOptions) owns(ns string) bool {
	opts := &o.synth
	if len(opts.Namespaces) > 0 && !slices.Contains(opts.Namespaces, ns) {
		return false
	}
	for _, p := range opts.ExcludeNamespaces {
		if p == ns || (strings.HasSuffix(p, "*") && strings.HasPrefix(ns, strings.TrimSuffix(p, "*"))) {
			return false
		}
	}
	return ns != cmp.Or(opts.RootNamespace, eval.DefaultRootNamespace)
}

// reportRepo adds to the summary what the policy directory writer did that
// the user should know: files pruned or overwritten, warnings.
func reportRepo(w io.Writer, dir string, r *repo.Result) {
	if r.Recovered {
		fmt.Fprintf(w, "meshgen emit: undid an interrupted earlier emit into %s first\n", dir)
	}
	for _, p := range r.Pruned {
		fmt.Fprintf(w, "  pruned %s (meshgen no longer writes it)\n", p)
	}
	for _, p := range r.Overwritten {
		fmt.Fprintf(w, "  overwrote %s, which a person had edited (--force)\n", p)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", m)
	}
}

func (o *emitOptions) toStdout() bool { return o.out == "" || o.out == "-" }

// commandLine is the command recorded in file headers: the flags that shape
// the output, in a fixed order, without paths that vary between runs.
func (o *emitOptions) commandLine(cmd *cobra.Command) string {
	parts := []string{"meshgen emit", "--observations=" + filepath.Base(o.observations)}
	changed := cmd.Flags().Changed
	add := func(flag, value string) {
		if changed(flag) {
			parts = append(parts, "--"+flag+"="+value)
		}
	}
	add("mode", o.mode)
	add("trust-domain", o.trustDomain)
	for _, a := range o.aliases {
		parts = append(parts, "--trust-domain-alias="+a)
	}
	add("min-requests", strconv.FormatInt(o.minRequests, 10))
	add("dry-run", strconv.FormatBool(o.dryRun))
	add("default-deny", strconv.FormatBool(o.defaultDeny))
	add("istio-version", o.istioVersion)
	add("plaintext", o.plaintext)
	for _, n := range o.namespaces {
		parts = append(parts, "--namespace="+n)
	}
	for _, n := range o.excludeNamespaces {
		parts = append(parts, "--exclude-namespace="+n)
	}
	add("path-sibling-threshold", strconv.Itoa(o.siblingThreshold))
	add("max-paths-per-rule", strconv.Itoa(o.maxPaths))
	if o.configUsed != "" {
		parts = append(parts, "(with "+filepath.Base(o.configUsed)+")")
	}
	return strings.Join(parts, " ")
}

func newEmitCmd(s streams) *cobra.Command {
	o := newEmitOptions()
	cmd := &cobra.Command{
		Use:   "emit --observations FILE [--out DIR|-]",
		Short: "Write least-privilege AuthorizationPolicy and PeerAuthentication from a snapshot",
		Long: `emit turns an observation snapshot into the narrowest Istio policies that still
admit every request that was observed and allowed: one ALLOW policy per destination
workload (L4 at ztunnel and L7 at waypoints in ambient mode), PeerAuthentication
STRICT with exceptions where plaintext was seen, and the evidence for every rule in
YAML comments. A summary of what was written and what was left out (and why) goes
to stderr.

Settings come from meshgen's defaults, then meshgen.yaml (in --out, or --config),
then the flags given on the command line.

With --out DIR, emit manages DIR as a policy repository: it rewrites or prunes only
the files it wrote (a header comment and the label app.kubernetes.io/managed-by:
meshgen; DIR/.meshgen/SHA256SUMS records their content), never a file a person
added, and keeps a person's entries in its kustomization.yaml. When a person edited
one of meshgen's files, nothing is written and emit exits 1 naming the files (--force
overwrites them). The tree changes as a whole or not at all (docs/ci.md).`,
		Args: cobra.NoArgs,
		RunE: runE(o, s),
	}
	o.AddFlags(cmd)
	return cmd
}
