package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/meshgen/meshgen/observe/accesslog"
	"github.com/meshgen/meshgen/observe/accesslog/podlogs"
	"github.com/meshgen/meshgen/observe/inventory"
	"github.com/meshgen/meshgen/observe/prometheus"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// durationValue is a pflag.Value for durations in Prometheus notation
// (30m, 24h, 7d, 2w), which Go's time.ParseDuration does not read.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0s"
	}
	return model.Duration(*v.d).String()
}
func (v durationValue) Type() string { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := model.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30m, 24h or 7d", s)
	}
	*v.d = time.Duration(d)
	return nil
}

// timeValue is a pflag.Value for an RFC 3339 time.
type timeValue struct{ t *time.Time }

func (v timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339)
}
func (v timeValue) Type() string { return "time" }
func (v timeValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-20T12:00:00Z", s)
	}
	*v.t = t
	return nil
}

type learnOptions struct {
	prom          prometheus.Config
	promHeaders   []string
	promBasicAuth string

	window time.Duration
	end    time.Time

	namespaces        []string
	excludeNamespaces []string

	cluster       kubeFlags
	inventoryFile string

	accessLogs []string
	fromPods   bool
	since      time.Duration
	logs       accesslog.Config

	output string
	merge  bool

	windowSet bool
}

func newLearnOptions() *learnOptions {
	return &learnOptions{
		prom:   prometheus.DefaultConfig(),
		logs:   accesslog.DefaultConfig(),
		window: prometheus.DefaultWindow,
		output: "meshgen-observations.json",
	}
}

func (o *learnOptions) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.SortFlags = false

	fs.StringVar(&o.prom.Endpoint, prometheus.FlagEndpoint, "", "base URL of the Prometheus HTTP API (Prometheus, Thanos Query, Mimir's /prometheus prefix)")
	fs.Var(durationValue{&o.window}, prometheus.FlagWindow, "how far back from --end to observe (30m, 24h, 7d, ...); applies to metrics and, when given, to log lines")
	fs.Var(timeValue{&o.end}, prometheus.FlagEnd, "end of the window, RFC 3339 (default: now)")
	fs.Var(durationValue{&o.prom.Step}, prometheus.FlagStep, "resolution of the range queries; first and last seen are accurate to one step (default: about window/250)")
	fs.StringSliceVar(&o.namespaces, prometheus.FlagNamespace, nil, "observe only traffic to these destination namespaces (repeatable or comma-separated)")
	fs.StringSliceVar(&o.excludeNamespaces, prometheus.FlagExcludeNamespace, nil, "ignore traffic to these destination namespaces")
	fs.StringArrayVar(&o.promHeaders, prometheus.FlagHeader, nil, "HTTP header K=V sent to Prometheus with every query, e.g. X-Scope-OrgID=tenant (repeatable)")
	fs.StringVar(&o.prom.BearerTokenFile, prometheus.FlagBearerTokenFile, "", "file holding a bearer token for Prometheus (re-read for every request)")
	fs.StringVar(&o.prom.CAFile, prometheus.FlagCAFile, "", "PEM file of the CAs that sign the Prometheus server certificate")
	fs.BoolVar(&o.prom.InsecureSkipTLSVerify, prometheus.FlagInsecureSkipTLSVerify, false, "do not verify the Prometheus server certificate")
	fs.StringVar(&o.promBasicAuth, prometheus.FlagBasicAuthFile, "", "file holding 'user:password' (or user and password on two lines) for basic auth; also read from $"+prometheus.EnvUsername+" and $"+prometheus.EnvPassword)
	fs.DurationVar(&o.prom.QueryTimeout, prometheus.FlagQueryTimeout, o.prom.QueryTimeout, "timeout of each Prometheus query")
	fs.IntVar(&o.prom.Retries, prometheus.FlagRetries, o.prom.Retries, "retries of a query after a 5xx, 429 or timeout, with exponential backoff")
	fs.IntVar(&o.prom.MaxSeriesPerQuery, prometheus.FlagMaxSeriesPerQuery, o.prom.MaxSeriesPerQuery, "a namespace whose answer has more series is queried again one workload at a time")
	fs.IntVar(&o.prom.Concurrency, prometheus.FlagConcurrency, o.prom.Concurrency, "Prometheus queries in flight at once")

	o.cluster.addFlags(fs, "cluster", "read the inventory (workloads, selectors, service accounts, ports, waypoints) from the cluster", true)
	fs.StringVar(&o.inventoryFile, "inventory", "", "read the inventory from a file: the output of '"+inventory.KubectlCommand+"' (JSON or YAML, .gz allowed)")

	fs.StringArrayVar(&o.accessLogs, accesslog.FlagAccessLog, nil, "access-log file of Envoy (sidecar, waypoint) or ztunnel; globs, - for stdin, .gz read transparently (repeatable)")
	fs.BoolVar(&o.fromPods, accesslog.FlagFromPods, false, "stream the access logs of istio-proxy sidecars, waypoints and ztunnel through the API server")
	fs.Var(durationValue{&o.since}, accesslog.FlagSince, "with --from-pods, read only the logs of the last duration (kubectl logs --since)")
	fs.StringVar(&o.logs.Format, accesslog.FlagLogFormat, o.logs.Format, "log format: auto, envoy, envoy-json, ztunnel, ztunnel-json, or your Envoy format string (with %OPERATORS%) or JSON format")
	fs.BoolVar(&o.logs.Strict, accesslog.FlagStrict, false, "fail on the first malformed log line instead of counting it")
	fs.IntVar(&o.logs.MaxPathsPerDestination, accesslog.FlagMaxPathsPerDestination, o.logs.MaxPathsPerDestination, "distinct raw paths kept per destination; further paths fold into prefixes, with a warning")
	fs.StringVar(&o.logs.TrustDomain, "trust-domain", o.logs.TrustDomain, "trust domain of principals inferred from pod addresses in logs that carry no identity")

	fs.StringVarP(&o.output, "output", "o", o.output, "snapshot file to write (.gz compresses)")
	fs.BoolVar(&o.merge, "merge", false, "fold the new observations into the existing --output snapshot: counts add, first and last seen widen")
}

func (o *learnOptions) Complete(cmd *cobra.Command) error {
	o.windowSet = cmd.Flags().Changed(prometheus.FlagWindow)
	if o.end.IsZero() {
		o.end = time.Now().UTC()
	}
	headers := map[string]string{}
	for _, h := range o.promHeaders {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usageErrorf("--%s %q: want K=V", prometheus.FlagHeader, h)
		}
		headers[strings.TrimSpace(k)] = v
	}
	if len(headers) > 0 {
		o.prom.Headers = headers
	}
	o.prom.Window, o.prom.End = o.window, o.end
	o.prom.Namespaces, o.prom.ExcludeNamespaces = o.namespaces, o.excludeNamespaces
	o.logs.End = o.end
	if o.windowSet {
		o.logs.Window = o.window
	}
	if o.prom.Endpoint == "" {
		return nil
	}
	var err error
	if o.promBasicAuth != "" {
		o.prom.BasicAuth, err = prometheus.BasicAuthFromFile(o.promBasicAuth)
	} else {
		o.prom.BasicAuth, err = prometheus.BasicAuthFromEnv()
	}
	return err
}

func (o *learnOptions) Validate() error {
	if o.prom.Endpoint == "" && len(o.accessLogs) == 0 && !o.fromPods {
		return usageErrorf("nothing to learn from: give --%s, --%s or --%s", prometheus.FlagEndpoint, accesslog.FlagAccessLog, accesslog.FlagFromPods)
	}
	if o.inventoryFile != "" && o.cluster.enabled() {
		return usageErrorf("--inventory and --cluster (or --kubeconfig, --context) cannot be used together")
	}
	if o.since != 0 && !o.fromPods {
		return usageErrorf("--%s needs --%s", accesslog.FlagSince, accesslog.FlagFromPods)
	}
	if o.window <= 0 {
		return usageErrorf("--%s must be positive", prometheus.FlagWindow)
	}
	if o.output == "" || o.output == "-" {
		return usageErrorf("--output must name a file")
	}
	if len(o.namespaces) > 0 && len(o.excludeNamespaces) > 0 {
		return usageErrorf("--%s and --%s cannot be used together", prometheus.FlagNamespace, prometheus.FlagExcludeNamespace)
	}
	if o.prom.Endpoint != "" {
		if err := o.prom.Validate(); err != nil {
			return err
		}
	}
	return o.logs.Validate()
}

// Run learns from every source, then writes one snapshot. Nothing is written
// unless every source was read completely.
func (o *learnOptions) Run(ctx context.Context, s streams) error {
	var existing *snapshot.Snapshot
	if o.merge {
		var err error
		existing, err = snapshot.ReadFile(o.output)
		if err != nil {
			return fmt.Errorf("--merge: %w", err)
		}
	}

	var client kubernetes.Interface
	var clusterName string
	if o.cluster.enabled() || o.fromPods {
		var err error
		client, clusterName, err = o.cluster.client()
		if err != nil {
			return err
		}
	}

	snap := snapshot.New()
	inv, err := o.readInventory(ctx, client, clusterName)
	if err != nil {
		return err
	}

	// Prometheus does not need the inventory; access logs do (to map
	// addresses and pods to workloads). Read Prometheus while the logs are
	// read.
	type promResult struct {
		snap *snapshot.Snapshot
		err  error
	}
	promDone := make(chan promResult, 1)
	if o.prom.Endpoint != "" {
		go func() {
			ps, err := prometheus.Learn(ctx, o.prom)
			promDone <- promResult{ps, err}
		}()
	} else {
		promDone <- promResult{}
	}

	logSnap, logErr := o.learnLogs(ctx, client, inv)
	pr := <-promDone
	if pr.err != nil {
		return fmt.Errorf("learning from prometheus: %w", pr.err)
	}
	if logErr != nil {
		return logErr
	}

	// Evidence first, inventory last: a cluster or file inventory replaces
	// the one inferred from metric labels.
	if pr.snap != nil {
		snap.Merge(pr.snap)
	}
	if logSnap != nil {
		snap.Merge(logSnap)
	}
	if inv != nil {
		snap.Merge(inv)
	} else if snap.Inventory.Origin == "" {
		snap.Inventory.Origin = snapshot.InventoryInferred
	}
	if snap.Inventory.Origin == snapshot.InventoryInferred {
		snap.Metadata.Warnings = append(snap.Metadata.Warnings,
			"no inventory was read (--cluster or --inventory): workload selectors were inferred from metric labels")
	}
	snap.CollectTrustDomains()
	if existing != nil {
		existing.Merge(snap)
		snap = existing
	}
	snap.Normalize()
	if err := snapshot.WriteFile(o.output, snap); err != nil {
		return fmt.Errorf("writing the snapshot: %w", err)
	}
	o.summarize(s, snap)
	return nil
}

func (o *learnOptions) readInventory(ctx context.Context, client kubernetes.Interface, clusterName string) (*snapshot.Snapshot, error) {
	var res *inventory.Result
	var location string
	var err error
	switch {
	case o.inventoryFile != "":
		res, err = inventory.FromFile(o.inventoryFile, inventory.Options{})
		location = o.inventoryFile
		if err != nil {
			return nil, fmt.Errorf("--inventory: %w", err)
		}
	case o.cluster.enabled() || o.fromPods:
		res, err = inventory.FromCluster(ctx, client, inventory.Options{Namespaces: o.namespaces})
		location = clusterName
		if err != nil {
			return nil, fmt.Errorf("reading the inventory from the cluster: %w", err)
		}
	default:
		return nil, nil
	}
	s := snapshot.New()
	s.Inventory = res.Inventory
	s.Metadata.Sources = []snapshot.SourceInfo{{Kind: "inventory", Location: location, Records: res.Objects}}
	s.Metadata.Warnings = res.Warnings
	return s, nil
}

func (o *learnOptions) learnLogs(ctx context.Context, client kubernetes.Interface, inv *snapshot.Snapshot) (*snapshot.Snapshot, error) {
	var inputs []accesslog.Input
	if len(o.accessLogs) > 0 {
		files, err := accesslog.Files(o.accessLogs, os.Stdin)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, files...)
	}
	if o.fromPods {
		cfg := podlogs.DefaultConfig()
		cfg.Namespaces = o.namespaces
		cfg.Since = o.since
		pods, err := podlogs.Inputs(ctx, client, cfg)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", accesslog.FlagFromPods, err)
		}
		if o.logs.OpenInputs == 0 {
			o.logs.OpenInputs = podlogs.DefaultConcurrency
		}
		inputs = append(inputs, pods...)
	}
	if len(inputs) == 0 {
		return nil, nil
	}
	cfg := o.logs
	if inv != nil {
		cfg.Inventory = snapshot.NewIndex(&inv.Inventory)
	}
	res, err := accesslog.Learn(ctx, cfg, inputs)
	if err != nil {
		return nil, fmt.Errorf("learning from access logs: %w", err)
	}
	return res.Snapshot, nil
}

func (o *learnOptions) summarize(s streams, snap *snapshot.Snapshot) {
	dests := map[[2]string]bool{}
	namespaces := map[string]bool{}
	for i := range snap.Edges {
		e := &snap.Edges[i]
		dests[[2]string{e.Destination.Namespace, e.Destination.Workload}] = true
		namespaces[e.Destination.Namespace] = true
	}
	fmt.Fprintf(s.errOut, "learned %d edges to %d workloads in %d namespaces; inventory: %s; wrote %s\n",
		len(snap.Edges), len(dests), len(namespaces), snap.Inventory.Origin, o.output)
	for _, src := range snap.Metadata.Sources {
		line := fmt.Sprintf("  source %s %s: %d records", src.Kind, src.Location, src.Records)
		if src.Malformed > 0 {
			line += fmt.Sprintf(", %d malformed", src.Malformed)
		}
		fmt.Fprintln(s.errOut, line)
	}
	for _, w := range snap.Metadata.Warnings {
		fmt.Fprintf(s.errOut, "  warning: %s\n", w)
	}
}

func newLearnCmd(s streams) *cobra.Command {
	o := newLearnOptions()
	cmd := &cobra.Command{
		Use:   "learn",
		Short: "Observe who calls whom and write an observation snapshot",
		Long: `learn samples the traffic of an Istio mesh over a window (Prometheus metrics,
Envoy and ztunnel access logs) together with the cluster inventory, and writes
a versioned observation snapshot for emit, check and diff.

Nothing is written unless every source was read completely: a failed query or
a truncated file is an error, never a silently narrower snapshot.`,
		Example: `  # metrics for the last week, inventory from the current kubeconfig context
  meshgen learn --prometheus http://prometheus.istio-system:9090 --window 7d --cluster -o observations.json

  # Mimir with a tenant header, inventory from a file, plus sidecar access logs
  meshgen learn --prometheus https://mimir.example.com/prometheus --prometheus-header X-Scope-OrgID=mesh \
    --inventory inventory.json --access-log 'logs/*.log.gz' -o observations.json.gz

  # add today's window to an existing snapshot
  meshgen learn --prometheus http://prometheus:9090 --window 24h --merge -o observations.json`,
		Args: cobra.NoArgs,
		RunE: runE(o, s),
	}
	o.AddFlags(cmd)
	return cmd
}
