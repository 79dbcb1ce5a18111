package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/accesslog/internal/loggen"
	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// inboundLine is a sidecar inbound line of web calling cart.
func inboundLine(ts time.Time, method, path string) string {
	return fmt.Sprintf(`[%s] "%s %s HTTP/1.1" 200 - via_upstream - "-" 0 10 1 1 "-" "curl" "id" "cart:80" "10.1.0.20:8080" inbound|8080|| 127.0.0.6:1 10.1.0.20:8080 10.1.0.10:2 outbound_.80_._.cart.shop.svc.cluster.local default`,
		ts.UTC().Format("2006-01-02T15:04:05.000Z"), method, path)
}

func TestWindow(t *testing.T) {
	cfg := testConfig()
	cfg.End = at(10_000)
	cfg.Window = 5 * time.Second
	var b strings.Builder
	for _, ms := range []int{0, 4999, 5000, 7000, 10_000, 10_001} {
		b.WriteString(inboundLine(at(ms), "GET", "/w") + "\n")
	}
	res := learnString(t, cfg, b.String())
	checkEdges(t, res.Snapshot.Edges, wantEdges(edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http,
		method: "GET", path: "/w", counts: snapshot.Counts{Requests: 3, MTLS: 3}, first: at(5000), last: at(10_000), evidence: envE}))
	checkStats(t, res.Inputs[0], InputStats{Lines: 6, Records: 6, Envoy: 3, OutsideWindow: 3})
	if !hasWarning(res.Snapshot, "3 records outside the window 2026-11-01T10:00:05Z to 2026-11-01T10:00:10Z were skipped") {
		t.Errorf("Warnings = %q, want one about 3 records outside the window", res.Snapshot.Metadata.Warnings)
	}
}

func TestPathCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPathsPerDestination = 2
	paths := []string{"/a/1", "/a/2", "/a/3", "/a/1?again", "/b/c/d/e/4", "/b/c/d/e/5", "/x/y/6", "/z", "/a/4"}
	var b strings.Builder
	for i, p := range paths {
		b.WriteString(inboundLine(at(i*1000), "GET", p) + "\n")
	}
	res := learnString(t, cfg, b.String())
	e := func(path string, prefix bool, n int64, first, last int) edgeSpec {
		return edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: path, prefix: prefix,
			counts: snapshot.Counts{Requests: n, MTLS: n}, first: at(first), last: at(last), evidence: envE}
	}
	checkEdges(t, res.Snapshot.Edges, wantEdges(
		e("/a/1", false, 2, 0, 3000), e("/a/2", false, 1, 1000, 1000), // the first two paths stay raw
		e("/a/", true, 2, 2000, 8000),     // "/a/3" and "/a/4" fold into their parent
		e("/b/c/d/", true, 2, 4000, 5000), // their parent, cut to three segments
		// The parent table is full (two entries): the first segment.
		e("/x/", true, 1, 6000, 6000),
		// A one-segment path has no parent but "/".
		e("/", true, 1, 7000, 7000),
	))
	if !hasWarning(res.Snapshot, "destination shop/cart (cart.shop.svc.cluster.local) had more than 2 distinct paths (--max-paths-per-destination); 6 further requests") {
		t.Errorf("Warnings = %q, want the fold warning", res.Snapshot.Metadata.Warnings)
	}
}

func TestFoldPrefixes(t *testing.T) {
	for _, tc := range []struct{ in, parent, first string }{
		{"/api/v1/users/123", "/api/v1/users/", "/api/"},
		{"/a/b/c/d/e", "/a/b/c/", "/a/"},
		{"/users/123/", "/users/", "/users/"},
		{"/abc", "/", "/"},
		{"/", "/", "/"},
		{"*", "/", "/"},
	} {
		if p, f := foldPrefixes(tc.in); p != tc.parent || f != tc.first {
			t.Errorf("foldPrefixes(%q) = %q, %q, want %q, %q", tc.in, p, f, tc.parent, tc.first)
		}
	}
}

func TestStrict(t *testing.T) {
	cfg := testConfig()
	cfg.Strict = true
	in, err := Files([]string{"testdata/sidecar-inbound.log"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Learn(context.Background(), cfg, in)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "access log testdata/sidecar-inbound.log line 12: malformed") {
		t.Errorf("Learn(strict) = %v, want a bad-input error naming testdata/sidecar-inbound.log line 12", err)
	}
}

func TestBadLines(t *testing.T) {
	good := inboundLine(at(1000), "GET", "/ok")
	long := inboundLine(at(2000), "GET", "/"+strings.Repeat("x", MaxLineBytes))
	huge := strings.Repeat("y", 3*chunkSize+17) // longer than a whole block
	binary := "\x00\x01\xff\xfe[\x8f{\"\x00\n\x1b[31m"
	badUTF8 := inboundLine(at(3000), "GET", "/caf\xe9")
	text := strings.Join([]string{good, long, good, huge, good, binary, badUTF8, good}, "\n") + "\n"
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			cfg := testConfig()
			cfg.Workers = workers
			res := learnString(t, cfg, text)
			checkEdges(t, res.Snapshot.Edges, wantEdges(edgeSpec{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http,
				method: "GET", path: "/ok", counts: snapshot.Counts{Requests: 4, MTLS: 4}, first: at(1000), evidence: envE}))
			// The binary garbage spans two lines (it has a newline).
			checkStats(t, res.Inputs[0], InputStats{Lines: 9, Records: 4, Envoy: 4, Malformed: 5, MalformedLines: []int64{2, 4, 6, 7, 8}})
		})
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestGzip(t *testing.T) {
	data, err := os.ReadFile("testdata/ztunnel.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeGzip(t, filepath.Join(dir, "ztunnel.log.gz"), data)
	// By content, whatever the name.
	writeGzip(t, filepath.Join(dir, "ztunnel-copy.log"), data)
	plain := learnFiles(t, testConfig(), "ztunnel.log")
	in, err := Files([]string{filepath.Join(dir, "*")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Learn(context.Background(), testConfig(), in)
	if err != nil {
		t.Fatalf("Learn(gzip) = %v", err)
	}
	var want []snapshot.Edge
	for _, e := range plain.Snapshot.Edges {
		e.Counts = e.Counts.Add(e.Counts) // the same lines twice
		want = append(want, e)
	}
	checkEdges(t, res.Snapshot.Edges, want)

	t.Run("truncated", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(bytes.Repeat(data, 50))
		zw.Close()
		path := filepath.Join(t.TempDir(), "cut.log.gz")
		if err := os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o600); err != nil {
			t.Fatal(err)
		}
		in, _ := Files([]string{path}, nil)
		_, err := Learn(context.Background(), testConfig(), in)
		if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "truncated or damaged") || !strings.Contains(err.Error(), path) {
			t.Errorf("Learn(truncated gzip) = %v, want a bad-input error naming %s as truncated", err, path)
		}
	})
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.log", "a.log"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in, err := Files([]string{filepath.Join(dir, "*.log"), filepath.Join(dir, "a.log"), "-"}, strings.NewReader(""))
	if err != nil {
		t.Fatalf("Files() = %v", err)
	}
	var names []string
	for _, i := range in {
		names = append(names, i.Name)
	}
	if want := []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), "-"}; !cmp.Equal(names, want) {
		t.Errorf("Files() names = %q, want %q", names, want)
	}
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{filepath.Join(dir, "*.gz")}, "matches no file"},
		{[]string{filepath.Join(dir, "missing.log")}, "no such file"},
		{[]string{dir}, "is a directory"},
		{[]string{"-", "-"}, "only once"},
		{[]string{""}, "empty path"},
	} {
		_, err := Files(tc.args, strings.NewReader(""))
		if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--access-log") {
			t.Errorf("Files(%q) = %v, want a bad-input error naming --access-log and containing %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestOpenError(t *testing.T) {
	in := []Input{{Name: "broken", Open: func(context.Context) (io.ReadCloser, error) { return nil, errors.New("boom") }}}
	_, err := Learn(context.Background(), testConfig(), in)
	if err == nil || !strings.Contains(err.Error(), "opening access log broken: boom") {
		t.Errorf("Learn() = %v, want the open error", err)
	}
	in = []Input{{Name: "failing", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader(inboundLine(at(0), "GET", "/")+"\n"), iotestErr{})), nil
	}}}
	_, err = Learn(context.Background(), testConfig(), in)
	if err == nil || !strings.Contains(err.Error(), "reading access log failing: read failed") {
		t.Errorf("Learn() = %v, want the read error", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("read failed") }

// TestParallelDeterministic checks that a large input split into many
// blocks and parsed by several workers gives the same snapshot as one
// worker, with the path cap in play and lines cut at block boundaries.
func TestParallelDeterministic(t *testing.T) {
	g := loggen.New(7)
	var buf bytes.Buffer
	if _, err := g.Write(&buf, loggen.EnvoyJSON, 5*chunkSize+12345); err != nil {
		t.Fatal(err)
	}
	inv := g.Inventory()
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var first *Result
	for _, workers := range []int{1, 2, 5} {
		cfg := DefaultConfig()
		cfg.Inventory = snapshot.NewIndex(&inv)
		cfg.MaxPathsPerDestination = 20
		cfg.Workers = workers
		in, err := Files([]string{path, path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Learn(context.Background(), cfg, append(in, in[0]))
		if err != nil {
			t.Fatalf("Learn(workers=%d) = %v", workers, err)
		}
		if got, want := res.Inputs[0].Lines, int64(bytes.Count(buf.Bytes(), []byte("\n"))); got != want {
			t.Errorf("Learn(workers=%d) read %d lines, want %d", workers, got, want)
		}
		if res.Inputs[0].Malformed != 0 {
			t.Errorf("Learn(workers=%d) found %d malformed lines", workers, res.Inputs[0].Malformed)
		}
		if first == nil {
			first = res
			continue
		}
		if diff := cmp.Diff(first.Snapshot, res.Snapshot); diff != "" {
			t.Errorf("Learn(workers=%d) differs from Learn(workers=1) (-1 +%d):\n%s", workers, workers, diff)
		}
	}
}
