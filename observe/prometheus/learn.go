package prometheus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Learn reads Istio's request and connection counters for the configured
// window and returns them as a snapshot: one edge per observed kind of call,
// with the evidence "prometheus", and an inventory inferred from the metric
// labels. It fails as a whole when any query fails: a snapshot is never
// built from part of the data.
func Learn(ctx context.Context, cfg Config) (*snapshot.Snapshot, error) {
	return learn(ctx, cfg, defaultHooks())
}

func learn(ctx context.Context, cfg Config, h hooks) (*snapshot.Snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newAPIClient(&cfg, h)
	if err != nil {
		return nil, err
	}
	l := newLearner(cfg, v1.NewAPI(client), h.now)
	return l.run(ctx)
}

// learner holds one Learn run.
type learner struct {
	cfg  Config
	api  v1.API
	step time.Duration
	// The range queries are evaluated at first, first+step, ..., end. Each
	// point covers the step before it, so together they cover (start, end],
	// where start = first - step. start may be up to one step before
	// end - Window, when the window is not a whole number of steps.
	start, first, end time.Time

	mu  sync.Mutex
	acc *accumulator
}

func newLearner(cfg Config, api v1.API, now func() time.Time) *learner {
	end := cfg.End
	if end.IsZero() {
		end = now()
	}
	step := cfg.Step
	if step == 0 {
		step = ChooseStep(cfg.Window)
	}
	// Query frontends (Thanos, Mimir, Cortex) align range queries to
	// multiples of the step, and cache only aligned ones; aligning here keeps
	// the window that is recorded the window that is read.
	stepSec := int64(step / time.Second)
	end = time.Unix(end.Unix()/stepSec*stepSec, 0).UTC()
	n := (cfg.Window + step - 1) / step
	return &learner{
		cfg:   cfg,
		api:   api,
		step:  step,
		end:   end,
		start: end.Add(-time.Duration(n) * step),
		first: end.Add(-time.Duration(n-1) * step),
		acc:   newAccumulator(),
	}
}

func (l *learner) run(ctx context.Context) (*snapshot.Snapshot, error) {
	shards, warnings, err := l.shards(ctx)
	if err != nil {
		return nil, err
	}
	g := newGroup(ctx, l.cfg.Concurrency)
	for _, s := range shards {
		for _, m := range metrics {
			g.Go(func(ctx context.Context) error { return l.queryShard(ctx, g, m, s) })
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return l.snapshot(warnings)
}

// shards finds the destination namespaces that have metrics in the window
// and applies the namespace filters.
func (l *learner) shards(ctx context.Context) ([]shard, []string, error) {
	found, err := l.labelValues(ctx, "destination_workload_namespace", discoverySelectors())
	if err != nil {
		return nil, nil, fmt.Errorf("listing the destination namespaces in prometheus: %w", err)
	}
	present := map[string]bool{}
	for _, ns := range found {
		present[ns] = true
	}
	var shards []shard
	var warnings []string
	switch {
	case len(l.cfg.Namespaces) > 0:
		for _, ns := range dedupSorted(l.cfg.Namespaces) {
			if !present[ns] {
				warnings = append(warnings, fmt.Sprintf(
					"prometheus: --%s %s: no Istio request or connection metrics have this destination namespace in the window", FlagNamespace, ns))
				continue
			}
			shards = append(shards, namespaceShard(ns))
		}
		if len(shards) == 0 {
			return nil, nil, fmt.Errorf("none of the namespaces given with --%s (%s) has Istio request or connection metrics in prometheus at %s between %s and %s",
				FlagNamespace, strings.Join(dedupSorted(l.cfg.Namespaces), ", "), redactURL(l.cfg.Endpoint), l.start.Format(time.RFC3339), l.end.Format(time.RFC3339))
		}
	default:
		excluded := map[string]bool{}
		for _, ns := range l.cfg.ExcludeNamespaces {
			excluded[ns] = true
		}
		for _, ns := range found {
			if ns == unknownNamespace || excluded[ns] {
				continue
			}
			shards = append(shards, namespaceShard(ns))
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("prometheus at %s has no %s or %s series with reporter destination or waypoint between %s and %s; check --%s and --%s",
				redactURL(l.cfg.Endpoint), metricRequests, metricTCP, l.start.Format(time.RFC3339), l.end.Format(time.RFC3339), FlagEndpoint, FlagWindow)
		}
		// Series whose destination namespace is unknown cannot be filtered
		// by namespace; they are read only without --namespace, to be
		// counted in a warning.
		shards = append(shards, unknownNamespaceShard())
	}
	return shards, warnings, nil
}

func discoverySelectors() []string {
	var out []string
	for _, m := range metrics {
		out = append(out, discoverySelector(m))
	}
	return out
}

// labelValues lists the values of a label over the window's time range.
// Warnings in the answer are errors: they mean partial data.
func (l *learner) labelValues(ctx context.Context, label string, matchers []string) ([]string, error) {
	vals, warnings, _, err := l.api.LabelValues(ctx, label, matchers, l.start, l.end)
	if err != nil {
		return nil, describeAPIError(err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("prometheus answered with warnings, so the answer may be incomplete: %s", strings.Join(warnings, "; "))
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, string(v))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// queryShard runs the range query of one metric and shard. A namespace whose
// answer has more than MaxSeriesPerQuery series, or that the server refuses
// as too large, is queried again one destination workload at a time.
func (l *learner) queryShard(ctx context.Context, g *group, metric string, s shard) error {
	q := buildQuery(metric, s, l.step)
	m, err := l.queryRange(ctx, q)
	tooLarge := err == nil && len(m) > l.cfg.MaxSeriesPerQuery || err != nil && isTooLarge(err)
	if tooLarge && !s.isWorkload() {
		return l.split(ctx, g, metric, s)
	}
	if err != nil {
		return fmt.Errorf("querying prometheus for %s (%s): %w; query: %s", s, metric, err, q)
	}
	l.mu.Lock()
	l.acc.addMatrix(metric, m)
	l.mu.Unlock()
	return nil
}

// split schedules one query per destination workload of a namespace shard,
// plus one for the series without a destination_workload label.
func (l *learner) split(ctx context.Context, g *group, metric string, s shard) error {
	wls, err := l.labelValues(ctx, "destination_workload", []string{s.selector(metric)})
	if err != nil {
		return fmt.Errorf("listing the destination workloads of %s (%s) in prometheus: %w", s, metric, err)
	}
	for _, wl := range append([]string{""}, wls...) {
		g.Go(func(ctx context.Context) error { return l.queryShard(ctx, g, metric, s.withWorkload(wl)) })
	}
	return nil
}

func (l *learner) queryRange(ctx context.Context, q string) (model.Matrix, error) {
	v, warnings, _, err := l.api.QueryRange(ctx, q, v1.Range{Start: l.first, End: l.end, Step: l.step},
		v1.WithTimeout(l.cfg.QueryTimeout))
	if err != nil {
		return nil, describeAPIError(err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("prometheus answered with warnings, so the answer may be incomplete: %s", strings.Join(warnings, "; "))
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("prometheus answered a range query with a %s, want a matrix", v.Type())
	}
	return m, nil
}

// describeAPIError adds the server's explanation, which client_golang keeps
// out of the message, to an API error.
func describeAPIError(err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) && ae.Detail != "" {
		return fmt.Errorf("%w: %s", err, errorDetail([]byte(ae.Detail)))
	}
	return err
}

// tooLargeMessages are the ways Prometheus, Thanos and Mimir say that a query
// touches too much data.
var tooLargeMessages = []string{
	"too many samples",                // Prometheus --query.max-samples
	"maximum number of series",        // Mimir max_fetched_series_per_query
	"max-fetched-series",              // Mimir error id
	"max-series-per-query",            // Mimir, Cortex
	"fetched series limit",            // Cortex
	"series limit",                    // Thanos store limits
	"exceeded series",                 // Thanos
	"max-fetched-chunks",              // Mimir
	"maximum number of chunks",        // Mimir
	"the query hit the max number of", // Cortex, Mimir
}

func isTooLarge(err error) bool {
	var ae *v1.Error
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.Msg + " " + ae.Detail)
	for _, m := range tooLargeMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func (l *learner) snapshot(warnings []string) (*snapshot.Snapshot, error) {
	s := snapshot.New()
	s.Metadata.Windows = []snapshot.Window{{Start: l.start, End: l.end}}
	s.Metadata.Sources = []snapshot.SourceInfo{{
		Kind:      snapshot.EvidencePrometheus,
		Location:  redactURL(l.cfg.Endpoint),
		Window:    &snapshot.Window{Start: l.start, End: l.end},
		Records:   l.acc.series,
		Malformed: l.acc.malformed,
	}}
	inv, invWarnings := l.acc.inventory()
	s.Inventory = inv
	s.Edges = l.acc.edges.Edges()
	s.Metadata.Warnings = append(s.Metadata.Warnings, warnings...)
	s.Metadata.Warnings = append(s.Metadata.Warnings, fmt.Sprintf(
		"prometheus: calls were counted in steps of %s; firstSeen and lastSeen are the ends of the first and last steps with calls, accurate to one step",
		humanDuration(l.step)))
	s.Metadata.Warnings = append(s.Metadata.Warnings, l.acc.warnings()...)
	s.Metadata.Warnings = append(s.Metadata.Warnings, invWarnings...)
	s.Normalize()
	s.CollectTrustDomains()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("building the snapshot from prometheus: %w", err)
	}
	return s, nil
}

func dedupSorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// group runs tasks with bounded concurrency. Tasks may start more tasks. The
// first error cancels the others and is the one Wait returns.
type group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error
}

func newGroup(ctx context.Context, concurrency int) *group {
	ctx, cancel := context.WithCancelCause(ctx)
	return &group{ctx: ctx, cancel: cancel, sem: make(chan struct{}, concurrency)}
}

func (g *group) Go(f func(ctx context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		select {
		case g.sem <- struct{}{}:
		case <-g.ctx.Done():
			g.fail(context.Cause(g.ctx))
			return
		}
		defer func() { <-g.sem }()
		if err := g.ctx.Err(); err != nil {
			g.fail(context.Cause(g.ctx))
			return
		}
		if err := f(g.ctx); err != nil {
			g.fail(err)
		}
	}()
}

func (g *group) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
		g.cancel(err)
	}
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel(nil)
	return g.err
}
