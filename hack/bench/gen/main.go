// Command gen writes a synthetic Istio mesh of a chosen size for the benchmark
// suite (hack/bench/run.sh): Istio's standard metrics as OpenMetrics (for
// promtool backfill), the inventory as `kubectl get ... -A -o json` prints it,
// and the access logs of sidecars and waypoints (Envoy JSON) and ztunnel
// (text). It is hack/gen-demo's big brother: the same label sets and wire
// formats, for thousands of workloads. The output is deterministic for a seed.
//
//	go run ./hack/bench/gen -size large -out /tmp/mesh-large
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// sizes are the meshes of the suite, 10x apart. Each namespace has 25
// workloads; about 97 caller→destination pairs; with 10 identifiers per path
// template and requests logged 8 times on average, about 1,000 snapshot
// edges and 5 MB of logs per namespace.
var sizes = map[string]int{
	"tiny":  2,
	"small": 20,
	"large": 200,
}

func main() {
	size := flag.String("size", "small", "mesh size: tiny (50 workloads), small (500) or large (5,000)")
	namespaces := flag.Int("namespaces", 0, "number of namespaces of 25 workloads (overrides -size)")
	ids := flag.Int("ids", 10, "distinct identifiers each caller uses per path template with {id}")
	repeat := flag.Int("repeat", 8, "mean number of log lines per distinct request")
	out := flag.String("out", "", "output directory (required)")
	window := flag.Duration("window", 24*time.Hour, "metrics window ending at -end")
	scrape := flag.Duration("scrape", time.Hour, "interval between metric samples (Prometheus needs --query.lookback-delta above it)")
	logWindow := flag.Duration("log-window", time.Hour, "time covered by the access logs, ending at -end")
	endFlag := flag.String("end", "2026-11-20T12:00:00Z", "end of the window (RFC 3339)")
	files := flag.Int("log-files", 0, "files per log kind (0: 2 per 10 namespaces, 2 to 8)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	n := *namespaces
	if n == 0 {
		var ok bool
		if n, ok = sizes[*size]; !ok {
			fail(fmt.Errorf("-size %q: want tiny, small or large", *size))
		}
	}
	if *out == "" {
		fail(fmt.Errorf("-out is required"))
	}
	end, err := time.Parse(time.RFC3339, *endFlag)
	if err != nil {
		fail(fmt.Errorf("-end: %w", err))
	}
	if *files == 0 {
		*files = min(8, max(2, n/10))
	}
	if err := run(*out, n, *ids, *repeat, *files, end, *window, *scrape, *logWindow, *seed); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "gen: %v\n", err)
	os.Exit(1)
}

// stats describe the generated mesh; run.sh copies them into the results.
type stats struct {
	Namespaces       int              `json:"namespaces"`
	Workloads        int              `json:"workloads"`
	Pods             int              `json:"pods"`
	Pairs            int              `json:"pairs"`
	DistinctRequests int              `json:"distinctRequests"`
	Series           int              `json:"series"`
	MetricSamples    int64            `json:"metricSamples"`
	MetricBytes      int64            `json:"metricBytes"`
	InventoryObjects int              `json:"inventoryObjects"`
	Logs             map[string]*stat `json:"logs"`
	End              string           `json:"end"`
	Window           string           `json:"window"`
	Scrape           string           `json:"scrape"`
	LogWindow        string           `json:"logWindow"`
}

type stat struct {
	Files int64 `json:"files"`
	Lines int64 `json:"lines"`
	Bytes int64 `json:"bytes"`
}

func run(out string, n, ids, repeat, files int, end time.Time, window, scrape, logWindow time.Duration, seed uint64) error {
	if err := os.MkdirAll(filepath.Join(out, "logs"), 0o755); err != nil {
		return err
	}
	m := build(n, ids, seed)
	st := stats{Namespaces: len(m.namespaces), Workloads: len(m.workloads), Pairs: len(m.pairs),
		End: end.Format(time.RFC3339), Window: window.String(), Scrape: scrape.String(), LogWindow: logWindow.String()}
	for _, w := range m.workloads {
		st.Pods += len(w.podIPs)
	}
	for _, p := range m.pairs {
		st.DistinctRequests += len(p.items())
	}

	all := buildSeries(m)
	st.Series = len(all)
	f, err := os.Create(filepath.Join(out, "metrics.om"))
	if err != nil {
		return err
	}
	cw := &countingWriter{w: f}
	st.MetricSamples, err = writeMetrics(cw, all, end, window, scrape, seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing metrics: %w", err)
	}
	st.MetricBytes = cw.n

	f, err = os.Create(filepath.Join(out, "inventory.json"))
	if err != nil {
		return err
	}
	st.InventoryObjects, err = writeInventory(f, m)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the inventory: %w", err)
	}

	lf := planLogs(m, files, repeat, rand.New(rand.NewPCG(seed, 7)))
	ls, err := writeLogs(filepath.Join(out, "logs"), m, lf, logWindow, end, seed)
	if err != nil {
		return fmt.Errorf("writing logs: %w", err)
	}
	st.Logs = map[string]*stat{}
	for k, v := range ls {
		st.Logs[k] = &stat{Files: v.files, Lines: v.lines, Bytes: v.bytes}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return os.WriteFile(filepath.Join(out, "mesh.json"), append(b, '\n'), 0o644)
}
