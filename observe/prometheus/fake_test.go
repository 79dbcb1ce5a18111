package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSeries is one result series of the fake: the labels a query's sum by
// would produce, and one value per evaluation time (first, first+step, ...).
type fakeSeries struct {
	metric string
	labels map[string]string
	values []float64
}

// fakeRequest is what the fake recorded about one request.
type fakeRequest struct {
	method string
	path   string
	// form is r.Form: URL query and POST body together.
	form     url.Values
	postForm url.Values
	urlQuery url.Values
	header   http.Header
}

// fakeProm is a fake Prometheus HTTP API over a fixed set of result series.
// It understands just enough of the selectors Learn sends to filter them by
// metric, destination namespace and destination workload.
type fakeProm struct {
	t      *testing.T
	series []fakeSeries

	// intercept, when set, may answer a request itself (return true).
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
	// warnings are added to every successful answer.
	warnings []string

	mu       sync.Mutex
	requests []fakeRequest
	srv      *httptest.Server
}

func newFakeProm(t *testing.T, series []fakeSeries) *fakeProm {
	t.Helper()
	f := &fakeProm{t: t, series: series}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) URL() string { return f.srv.URL }

func (f *fakeProm) recorded() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// queries returns the query parameter of every query_range request.
func (f *fakeProm) queries() []string {
	var out []string
	for _, r := range f.recorded() {
		if r.path == "/api/v1/query_range" {
			out = append(out, r.form.Get("query"))
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{
		method: r.Method, path: r.URL.Path, form: r.Form, postForm: r.PostForm,
		urlQuery: r.URL.Query(), header: r.Header.Clone(),
	})
	n := len(f.requests)
	f.mu.Unlock()
	if f.intercept != nil && f.intercept(w, r, n) {
		return
	}
	switch {
	case r.URL.Path == "/api/v1/query_range":
		f.queryRange(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/") && strings.HasSuffix(r.URL.Path, "/values"):
		label := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/label/"), "/values")
		f.labelValues(w, label, r.Form["match[]"])
	default:
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path)
	}
}

// selectorRE picks apart the selectors Learn writes.
var selectorRE = regexp.MustCompile(`(istio_[a-z_]+)\{reporter=~"destination\|waypoint"(?:,destination_workload_namespace(=~?)("[^"]*"))?(?:,destination_workload(=)("[^"]*"))?\}`)

type parsedSelector struct {
	metric   string
	nsOp, ns string
	hasNS    bool
	wl       string
	hasWL    bool
}

func parseSelector(t *testing.T, s string) parsedSelector {
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		t.Errorf("fake prometheus: cannot parse selector in %q", s)
		return parsedSelector{}
	}
	p := parsedSelector{metric: m[1]}
	if m[2] != "" {
		p.hasNS, p.nsOp = true, m[2]
		p.ns, _ = strconv.Unquote(m[3])
	}
	if m[4] != "" {
		p.hasWL = true
		p.wl, _ = strconv.Unquote(m[5])
	}
	return p
}

func (p parsedSelector) matches(s fakeSeries) bool {
	if s.metric != p.metric {
		return false
	}
	ns := s.labels["destination_workload_namespace"]
	if p.hasNS {
		switch p.nsOp {
		case "=":
			if ns != p.ns {
				return false
			}
		case "=~":
			if !regexp.MustCompile("^(?:" + p.ns + ")$").MatchString(ns) {
				return false
			}
		}
	}
	if p.hasWL && s.labels["destination_workload"] != p.wl {
		return false
	}
	return true
}

func (f *fakeProm) queryRange(w http.ResponseWriter, r *http.Request) {
	q := r.Form.Get("query")
	sel := parseSelector(f.t, q)
	start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
	step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
	type result struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	results := []result{}
	for _, s := range f.series {
		if !sel.matches(s) {
			continue
		}
		res := result{Metric: s.labels}
		for i, v := range s.values {
			ts := start + float64(i)*step
			res.Values = append(res.Values, [2]any{ts, strconv.FormatFloat(v, 'f', -1, 64)})
		}
		results = append(results, res)
	}
	writeSuccess(w, map[string]any{"resultType": "matrix", "result": results}, f.warnings)
}

func (f *fakeProm) labelValues(w http.ResponseWriter, label string, matchers []string) {
	seen := map[string]bool{}
	for _, m := range matchers {
		sel := parseSelector(f.t, m)
		for _, s := range f.series {
			if sel.matches(s) && s.labels[label] != "" {
				seen[s.labels[label]] = true
			}
		}
	}
	out := []string{}
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	writeSuccess(w, out, f.warnings)
}

func writeSuccess(w http.ResponseWriter, data any, warnings []string) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"status": "success", "data": data}
	if len(warnings) > 0 {
		body["warnings"] = warnings
	}
	_ = json.NewEncoder(w).Encode(body)
}

func writeAPIError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": typ, "error": msg})
}

// testHooks returns hooks with a fixed clock, no real sleeping (the waits are
// recorded) and no jitter.
type sleepRecorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (s *sleepRecorder) hooks(now time.Time) hooks {
	return hooks{
		now: func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.sleeps = append(s.sleeps, d)
			return nil
		},
		jitter: func() float64 { return 0 },
	}
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sleeps)
}

// labels builds the sum-by label set of a result series from a compact
// description; every group label not given is left out.
func labels(kv ...string) map[string]string {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("labels: odd number of arguments %q", kv))
	}
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
