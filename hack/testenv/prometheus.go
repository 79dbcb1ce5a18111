package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// PrometheusServer is a real Prometheus started by Prometheus.
type PrometheusServer struct {
	// URL is the base URL, for example http://127.0.0.1:40123.
	URL string
	// Start and End are the times of the oldest and the newest backfilled sample.
	Start, End time.Time

	proc *process
}

// LogTail returns the last lines of the server's log, for failure messages.
func (p *PrometheusServer) LogTail() string { return p.proc.tail() }

// Prometheus starts a real Prometheus on loopback whose TSDB was backfilled with
// `promtool tsdb create-blocks-from openmetrics` from the given OpenMetrics text (which must end
// with "# EOF"). It is stopped at t.Cleanup. Samples of any age are kept and queryable.
func Prometheus(t testing.TB, openMetrics []byte) *PrometheusServer {
	t.Helper()
	if !bytes.HasSuffix(bytes.TrimRight(openMetrics, "\n"), []byte("# EOF")) {
		t.Fatalf("testenv.Prometheus: the OpenMetrics text must end with a \"# EOF\" line")
	}
	skipShort(t)
	bins := requireBinaries(t, "prometheus", "promtool")
	dir := t.TempDir()
	omFile := filepath.Join(dir, "data.om")
	if err := os.WriteFile(omFile, openMetrics, 0o644); err != nil {
		t.Fatalf("writing openmetrics file: %v", err)
	}
	tsdb := filepath.Join(dir, "tsdb")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bins[1], "tsdb", "create-blocks-from", "openmetrics", omFile, tsdb).CombinedOutput()
	if err != nil {
		t.Fatalf("backfilling prometheus: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tailLines(out, 30))
	}
	start, end, err := blocksRange(tsdb)
	if err != nil {
		t.Fatalf("backfilling prometheus: %v\npromtool said:\n%s", err, tailLines(out, 30))
	}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("# no scrape targets: the test data is backfilled.\nglobal:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatalf("writing prometheus config: %v", err)
	}

	var p *process
	var base string
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		p, err = startProcess("prometheus", bins[0], []string{
			"--config.file=" + config,
			"--storage.tsdb.path=" + tsdb,
			// Retention counts back from the newest block, but backfilled data can be years old:
			// keep everything.
			"--storage.tsdb.retention.time=100y",
			"--web.listen-address=" + fmt.Sprintf("127.0.0.1:%d", ports[0]),
		}, filepath.Join(dir, "prometheus.log"))
		if err != nil {
			t.Fatal(err)
		}
		err = waitFor(ctx, p, time.Minute, "prometheus to be ready", func(ctx context.Context) error {
			return httpGetOK(ctx, http.DefaultClient, base+"/-/ready", nil)
		})
		if err == nil {
			break
		}
		p.stop(syscall.SIGKILL, 0)
		if attempt < 3 && addrInUse(p) {
			continue
		}
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: %s", p.tail())
		}
		p.stop(syscall.SIGTERM, 10*time.Second)
	})

	err = waitFor(ctx, p, time.Minute, "backfilled data to be queryable", func(ctx context.Context) error {
		n, err := instantQueryLen(ctx, base, `count({__name__=~".+"})`, end)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no series at %s yet", end.Format(time.RFC3339))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	return &PrometheusServer{URL: base, Start: start, End: end, proc: p}
}

// blocksRange reads the time range of the TSDB blocks that promtool wrote.
func blocksRange(tsdb string) (start, end time.Time, err error) {
	metas, err := filepath.Glob(filepath.Join(tsdb, "*", "meta.json"))
	if err != nil {
		return start, end, fmt.Errorf("listing tsdb blocks: %w", err)
	}
	if len(metas) == 0 {
		return start, end, fmt.Errorf("promtool wrote no tsdb blocks to %s (no samples in the input?)", tsdb)
	}
	var minT, maxT int64
	for i, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			return start, end, fmt.Errorf("reading tsdb block meta: %w", err)
		}
		var meta struct {
			MinTime int64 `json:"minTime"`
			MaxTime int64 `json:"maxTime"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return start, end, fmt.Errorf("reading tsdb block meta %s: %w", m, err)
		}
		if i == 0 || meta.MinTime < minT {
			minT = meta.MinTime
		}
		if i == 0 || meta.MaxTime > maxT {
			maxT = meta.MaxTime
		}
	}
	// A block's maxTime is exclusive.
	return time.UnixMilli(minT).UTC(), time.UnixMilli(maxT - 1).UTC(), nil
}

// instantQueryLen runs an instant query and returns the number of series in its result.
func instantQueryLen(ctx context.Context, base, query string, at time.Time) (int, error) {
	v := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+v.Encode(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decoding query response (%s): %w", resp.Status, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query %q: %s: %s", query, resp.Status, body.Error)
	}
	return len(body.Data.Result), nil
}
