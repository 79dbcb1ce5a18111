// Command report turns the measurements of hack/bench/run.sh into the
// Markdown results file: the machine, the meshes, every step's wall time,
// CPU time and peak RSS, and each target of docs/performance.md with the
// measured value.
//
//	go run ./hack/bench/report -rows ROWS.tsv -work DIR small large
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// row is one measured process.
type row struct {
	size, step      string
	wall, user, sys float64
	rssKiB          int64
	rc              int
}

func (r row) cpu() float64 { return r.user + r.sys }

type meshStats struct {
	Namespaces       int   `json:"namespaces"`
	Workloads        int   `json:"workloads"`
	Pods             int   `json:"pods"`
	Pairs            int   `json:"pairs"`
	DistinctRequests int   `json:"distinctRequests"`
	Series           int   `json:"series"`
	MetricSamples    int64 `json:"metricSamples"`
	MetricBytes      int64 `json:"metricBytes"`
	InventoryObjects int   `json:"inventoryObjects"`
	Logs             map[string]struct {
		Files int64 `json:"files"`
		Lines int64 `json:"lines"`
		Bytes int64 `json:"bytes"`
	} `json:"logs"`
	Window    string `json:"window"`
	Scrape    string `json:"scrape"`
	LogWindow string `json:"logWindow"`
}

func main() {
	rowsPath := flag.String("rows", "", "the measurements (TSV)")
	work := flag.String("work", "", "the work directory of run.sh")
	command := flag.String("command", "make bench", "the command that reproduced the results")
	flag.Parse()
	if err := run(os.Stdout, *rowsPath, *work, *command, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, rowsPath, work, command string, sizes []string) error {
	rows, err := readRows(rowsPath)
	if err != nil {
		return err
	}
	extra, err := readExtra(rowsPath + ".extra")
	if err != nil {
		return err
	}
	meshes := map[string]*meshStats{}
	for _, s := range sizes {
		b, err := os.ReadFile(filepath.Join(work, s, "mesh.json"))
		if err != nil {
			return err
		}
		var m meshStats
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s/mesh.json: %w", s, err)
		}
		meshes[s] = &m
	}
	get := func(size, key string) string { return extra[size+"\t"+key] }

	fmt.Fprintf(w, "# meshgen benchmark results\n\n")
	fmt.Fprintf(w, "Reproduce with `%s` (hack/bench/run.sh %s).\n\n", command, strings.Join(sizes, " "))
	fmt.Fprintf(w, "## Machine\n\n")
	for _, k := range []string{"date", "meshgen", "go", "prometheus", "cpu", "cores", "memory", "kernel"} {
		fmt.Fprintf(w, "- %s: %s\n", k, get("", k))
	}
	for _, s := range sizes {
		fmt.Fprintf(w, "- load average before/after the %s mesh: %s / %s\n", s, get(s, "load-start"), get(s, "load-end"))
	}
	fmt.Fprintf(w, "\nWall-clock times depend on what else runs on the machine; CPU time (user + sys) is the process's own work.\n")

	fmt.Fprintf(w, "\n## Meshes\n\n")
	fmt.Fprintf(w, "| | %s |\n|---|%s\n", strings.Join(sizes, " | "), strings.Repeat("---|", len(sizes)))
	line := func(name string, f func(s string, m *meshStats) string) {
		var cells []string
		for _, s := range sizes {
			cells = append(cells, f(s, meshes[s]))
		}
		fmt.Fprintf(w, "| %s | %s |\n", name, strings.Join(cells, " | "))
	}
	line("namespaces (incl. istio-system)", func(_ string, m *meshStats) string { return num(int64(m.Namespaces)) })
	line("workloads / pods", func(_ string, m *meshStats) string { return num(int64(m.Workloads)) + " / " + num(int64(m.Pods)) })
	line("caller→destination pairs", func(_ string, m *meshStats) string { return num(int64(m.Pairs)) })
	line("metric series / samples", func(_ string, m *meshStats) string {
		return num(int64(m.Series)) + " / " + num(m.MetricSamples) + " (" + m.Window + " every " + m.Scrape + ")"
	})
	line("OpenMetrics file", func(_ string, m *meshStats) string { return mib(m.MetricBytes) })
	line("inventory objects", func(_ string, m *meshStats) string { return num(int64(m.InventoryObjects)) })
	line("Envoy JSON logs (sidecars, waypoints)", func(_ string, m *meshStats) string {
		l := m.Logs["envoy-json"]
		return num(l.Lines) + " lines, " + mib(l.Bytes)
	})
	line("ztunnel logs", func(_ string, m *meshStats) string {
		l := m.Logs["ztunnel"]
		return num(l.Lines) + " lines, " + mib(l.Bytes)
	})
	line("range queries meshgen sent / answer bytes", func(s string, _ *meshStats) string {
		return get(s, "queries") + " / " + mibStr(get(s, "response-bytes"))
	})
	line("snapshot edges after learn (all sources)", func(s string, _ *meshStats) string { return get(s, "edges") })
	line("… of which from Prometheus alone", func(s string, _ *meshStats) string { return get(s, "edges-prometheus") })
	line("emitted AuthorizationPolicies / PeerAuthentications", func(s string, _ *meshStats) string {
		return get(s, "authorizationpolicies") + " / " + get(s, "peerauthentications")
	})
	line("check privilege summary", func(s string, _ *meshStats) string { return get(s, "privilege") })

	fmt.Fprintf(w, "\n## Steps\n\nOne process per step, measured with `/usr/bin/time`; repeated steps show every round.\n\n")
	fmt.Fprintf(w, "| size | step | wall s | CPU s | max RSS MiB | exit |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %d | %d |\n", r.size, r.step, r.wall, r.cpu(), r.rssKiB/1024, r.rc)
	}

	fmt.Fprintf(w, "\n## Targets\n\n| target | size | measured | met |\n|---|---|---|---|\n")
	target := func(name, size, measured string, ok bool) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, size, measured, yesNo(ok))
	}
	for _, s := range sizes {
		mg, cu := pick(rows, s, "learn-prometheus"), pick(rows, s, "curl-same-queries")
		if len(mg) > 0 && len(cu) > 0 {
			mw, cw := median(mg, func(r row) float64 { return r.wall }), median(cu, func(r row) float64 { return r.wall })
			target("learn from Prometheus: wall ≤ 1.25 × curl's (medians)", s,
				fmt.Sprintf("%.2f s vs %.2f s: %.2f× (meshgen CPU %.2f s)", mw, cw, mw/cw, median(mg, row.cpu)), mw <= 1.25*cw)
			bytes, _ := strconv.ParseFloat(get(s, "response-bytes"), 64)
			rss := float64(maxRSS(mg)) * 1024
			target("learn from Prometheus: peak RSS ≤ 3 × answer bytes", s,
				fmt.Sprintf("%s vs 3 × %s: %.2f×", mib(int64(rss)), mib(int64(bytes)), rss/bytes), rss <= 3*bytes)
		}
		base := pick(rows, s, "meshgen-version")
		if len(mg) > 0 && len(base) > 0 {
			bytes, _ := strconv.ParseFloat(get(s, "response-bytes"), 64)
			above := float64(maxRSS(mg)-base[0].rssKiB) * 1024
			target("… above the RSS of `meshgen version` (the binary alone)", s,
				fmt.Sprintf("%s above %d MiB: %.2f×", mib(int64(above)), base[0].rssKiB/1024, above/bytes), above <= 3*bytes)
		}
		inv := pick(rows, s, "learn-inventory-only")
		for _, f := range []struct{ step, many, key, times string }{
			{"learn-logs-envoy-json", "learn-logs-envoy-json-x3", "envoy-json", "3"},
			{"learn-logs-ztunnel", "learn-logs-ztunnel-x8", "ztunnel", "8"},
		} {
			one, many := pick(rows, s, f.step), pick(rows, s, f.many)
			if len(one) == 0 || len(inv) == 0 {
				continue
			}
			b := float64(meshes[s].Logs[f.key].Bytes)
			c1, ci := median(one, row.cpu), median(inv, row.cpu)
			w1 := median(one, func(r row) float64 { return r.wall })
			target("learn from logs ("+f.key+", the mesh's files): ≥ 250 MB per CPU second", s,
				fmt.Sprintf("%.0f MB/cpu-s end to end (%.0f MB in %.2f CPU s, %.0f MB/s wall); %.0f MB/cpu-s without the %.2f CPU s of the inventory-only run",
					b/1e6/c1, b/1e6, c1, b/1e6/w1, b/1e6/(c1-ci), ci), b/1e6/c1 >= 250)
			if len(many) == 0 {
				continue
			}
			n, _ := strconv.ParseFloat(f.times, 64)
			cm := median(many, row.cpu)
			wm := median(many, func(r row) float64 { return r.wall })
			target("learn from logs ("+f.key+", the same lines "+f.times+"×): ≥ 250 MB per CPU second", s,
				fmt.Sprintf("%.0f MB/cpu-s end to end (%.0f MB in %.2f CPU s, %.0f MB/s wall); per added byte %.0f MB/cpu-s",
					n*b/1e6/cm, n*b/1e6, cm, n*b/1e6/wm, (n-1)*b/1e6/(cm-c1)), n*b/1e6/cm >= 250)
			r := float64(maxRSS(many)) / float64(maxRSS(one))
			target("learn from logs ("+f.key+"): memory flat in file size", s,
				fmt.Sprintf("%d MiB for %s, %d MiB for %s× the bytes: %.2f×", maxRSS(one)/1024, mib(int64(b)), maxRSS(many)/1024, f.times, r), r <= 1.15)
		}
	}
	largest := sizes[len(sizes)-1]
	if e, c := pick(rows, largest, "emit"), pick(rows, largest, "check"); len(e) > 0 && len(c) > 0 {
		wall := func(r row) float64 { return r.wall }
		ew, cw := median(e, wall), median(c, wall)
		er, cr := maxRSS(e), maxRSS(c)
		target("emit + check: under 60 s (medians)", largest, fmt.Sprintf("%.1f s + %.1f s = %.1f s (CPU %.1f s)", ew, cw, ew+cw, median(e, row.cpu)+median(c, row.cpu)), ew+cw < 60)
		target("emit + check: under 2 GiB", largest, fmt.Sprintf("peak %d MiB and %d MiB (sum %d MiB)", er/1024, cr/1024, (er+cr)/1024), er+cr < 2<<20)
		if d := pick(rows, largest, "diff"); len(d) > 0 {
			target("diff (reported, no target)", largest, fmt.Sprintf("%.1f s, CPU %.1f s, %d MiB", median(d, wall), median(d, row.cpu), maxRSS(d)/1024), true)
		}
	}
	if len(sizes) >= 2 {
		small, large := sizes[len(sizes)-2], sizes[len(sizes)-1]
		fmt.Fprintf(w, "\n### Growth from %s to %s (10× the mesh): at most 12× the time\n\n", small, large)
		fmt.Fprintf(w, "Judged on the least CPU time of the rounds (the run least disturbed by other jobs; noise only adds), with the medians beside it. "+
			"curl, wc and jq are shown for reference.\n\n")
		fmt.Fprintf(w, "| step | least CPU %s → %s | ratio | median CPU ratio | median wall ratio | peak RSS ratio | met |\n|---|---|---|---|---|---|---|\n", small, large)
		var steps []string
		for _, r := range rows {
			if r.size == large && !slices.Contains(steps, r.step) {
				steps = append(steps, r.step)
			}
		}
		least := func(rs []row) float64 {
			m := rs[0].cpu()
			for _, r := range rs {
				m = min(m, r.cpu())
			}
			return m
		}
		for _, st := range steps {
			a, b := pick(rows, small, st), pick(rows, large, st)
			if len(a) == 0 || len(b) == 0 || st == "generate" || st == "promtool-backfill" || st == "meshgen-version" {
				continue
			}
			la, lb := least(a), least(b)
			ratio := lb / max(la, 0.01)
			wall := func(r row) float64 { return r.wall }
			met := "—"
			if strings.HasPrefix(st, "learn") || st == "emit" || st == "check" || st == "diff" {
				met = yesNo(ratio <= 12)
			}
			fmt.Fprintf(w, "| %s | %.2f s → %.2f s | %.1f× | %.1f× | %.1f× | %.1f× | %s |\n", st, la, lb, ratio,
				median(b, row.cpu)/max(median(a, row.cpu), 0.01), median(b, wall)/max(median(a, wall), 0.01),
				float64(maxRSS(b))/float64(max(maxRSS(a), 1)), met)
		}
	}
	return nil
}

func readRows(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) < 7 {
			continue
		}
		r := row{size: p[0], step: p[1]}
		r.wall, _ = strconv.ParseFloat(p[2], 64)
		r.user, _ = strconv.ParseFloat(p[3], 64)
		r.sys, _ = strconv.ParseFloat(p[4], 64)
		r.rssKiB, _ = strconv.ParseInt(p[5], 10, 64)
		r.rc, _ = strconv.Atoi(p[6])
		out = append(out, r)
	}
	return out, sc.Err()
}

// readExtra reads "size<TAB>key<TAB>value" lines.
func readExtra(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), "\t", 3)
		if len(p) == 3 {
			out[p[0]+"\t"+p[1]] = p[2]
		}
	}
	return out, sc.Err()
}

func pick(rows []row, size, step string) []row {
	var out []row
	for _, r := range rows {
		if r.size == size && r.step == step {
			out = append(out, r)
		}
	}
	return out
}

func median(rs []row, f func(row) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func maxRSS(rs []row) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.rssKiB)
	}
	return m
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func mibStr(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return mib(n)
}
