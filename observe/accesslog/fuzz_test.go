package accesslog

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/meshgen/meshgen/observe/snapshot"
)

var fuzzIndex = sync.OnceValue(testInventory)

// checkLines runs lines through one worker and checks what every edge must
// satisfy, whatever the input: a valid snapshot, no query string in a path,
// no spiffe:// in a principal, valid UTF-8, and every line counted.
func checkLines(t *testing.T, f *Format, data []byte) {
	idx := fuzzIndex()
	w := newWorker(f, idx, DefaultTrustDomain, workloadsByName(idx), -1<<63, 1<<63-1, false)
	res := &chunkResult{agg: newChunkAggregator()}
	w.chunk(data, nil, res)
	lines := int64(strings.Count(string(data), "\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lines++
	}
	if res.lines != lines {
		t.Fatalf("counted %d lines, want %d", res.lines, lines)
	}
	if res.records+res.skipped+res.malformed > res.lines {
		t.Fatalf("records %d + skipped %d + malformed %d > lines %d", res.records, res.skipped, res.malformed, res.lines)
	}
	s := snapshot.New()
	for i := range res.agg.entries {
		e := res.agg.entries[i].edge()
		if strings.ContainsAny(e.Path, "?#") {
			t.Fatalf("path %q has a query string", e.Path)
		}
		for _, v := range []string{e.Source.Principal, e.Source.Namespace, e.Source.Workload, e.Source.IP, e.Destination.Namespace,
			e.Destination.Workload, e.Destination.Service, e.Destination.Principal, e.Method, e.Path} {
			if !utf8.ValidString(v) {
				t.Fatalf("edge has invalid UTF-8 %q", v)
			}
		}
		if e.Method != strings.ToUpper(e.Method) {
			t.Fatalf("method %q is not upper case", e.Method)
		}
		if h := hashKey(&res.agg.entries[i].key); h != res.agg.entries[i].h {
			t.Fatalf("entry hash is stale")
		}
		s.Edges = append(s.Edges, e)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("invalid edges: %v", err)
	}
}

// seedFiles adds the lines of the fixtures and samples as seeds.
func seedFiles(f *testing.F, globs ...string) {
	for _, g := range globs {
		paths, _ := filepath.Glob(g)
		for _, p := range paths {
			fh, err := os.Open(p)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				f.Add(sc.Text())
			}
			fh.Close()
		}
	}
}

func fuzzFormat(f *testing.F, format string, globs ...string) {
	seedFiles(f, globs...)
	pf, err := ParseFormat(format)
	if err != nil {
		f.Fatal(err)
	}
	auto, _ := ParseFormat(FormatAuto)
	f.Fuzz(func(t *testing.T, line string) {
		checkLines(t, pf, []byte(line))
		checkLines(t, auto, []byte(line))
	})
}

func FuzzZtunnelText(f *testing.F) {
	f.Add("2026-11-01T10:00:01Z\tinfo\taccess\tconnection complete\tsrc.addr=10.2.0.30:1 src.identity=\"spiffe://td/ns/a/sa/b\\\"\" dst.hbone_addr=10.2.0.20:8080 dst.workload=\"x-1\" dst.namespace=\"n\" direction=\"inbound\"")
	f.Add("2026-11-01T10:00:01Z info access connection failed src.addr=[::1]:1 dst.addr=[::2]:2 direction=\"inbound\" error=\"policy rejection\"")
	fuzzFormat(f, FormatZtunnel, "testdata/ztunnel.log", samplesDir+"/kiali/ztunnel.log", samplesDir+"/istio.io/*ztunnel*.log", samplesDir+"/istio.io/verify*.log")
}

func FuzzZtunnelJSON(f *testing.F) {
	f.Add(`{"scope":"access","message":"connection complete","direction":"outbound","dst.addr":"10.0.0.1:1","error":"http status: 401 Unauthorized"}`)
	fuzzFormat(f, FormatZtunnelJSON, "testdata/ztunnel.json")
}

func FuzzEnvoyText(f *testing.F) {
	f.Add(`[2026-11-01T10:00:01.000Z] "GET /a?b HTTP/1.1" 200 - via_upstream - "-" 0 0 0 0 "-" "-" "-" "-" "envoy://connect_originate/10.2.0.10:8080" inbound-vip|80|http|shelf.mall.svc.cluster.local - 10.96.5.5:80 10.2.0.30:1 - default "-" "-" "application/grpc" "spiffe://cluster.local/ns/a/sa/b"`)
	fuzzFormat(f, FormatEnvoy, "testdata/sidecar-*.log", "testdata/recommended.log", "testdata/waypoint.log", samplesDir+"/kiali/waypoint.log", samplesDir+"/istio.io/access-log-task*.log")
}

func FuzzEnvoyJSON(f *testing.F) {
	f.Add(`{"method":"POST","path":"/a.b/C","protocol":"HTTP/2","upstream_cluster":"outbound|80||a.b.svc.cluster.local","upstream_host":"10.1.0.20:8080","downstream_remote_address":"10.1.0.10:1"}`)
	fuzzFormat(f, FormatEnvoyJSON, "testdata/envoy.json")
}

func FuzzCustomFormat(f *testing.F) {
	f.Add(`[%START_TIME%] %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% peer=%DOWNSTREAM_PEER_URI_SAN% dst=%DOWNSTREAM_LOCAL_ADDRESS%`,
		"[2026-11-01T10:00:01.000Z] GET /x?y 200 peer=spiffe://cluster.local/ns/shop/sa/web dst=10.1.0.20:8080")
	f.Add(`%START_TIME(%s)% "%REQ(:METHOD)%" %UPSTREAM_CLUSTER% %UPSTREAM_HOST% %X(Y):3%`, `1793527206 "post" outbound|80||cart.shop.svc.cluster.local 10.1.0.20:8080 z`)
	f.Add(`{"m":"%REQ(:METHOD)%","c":"%UPSTREAM_CLUSTER_RAW%","h":"%UPSTREAM_HOST%"}`, `{"m":"GET","c":"inbound-pod|80||10.2.0.10","h":null}`)
	f.Add(RecommendedFormat, `[2026-11-01T10:00:01.000Z] "- - -" 0 - - - "-" 1 1 1 - "-" "-" "-" "-" "-" - - - - - - "-" "-" "-" "-"`)
	f.Fuzz(func(t *testing.T, format, line string) {
		pf, err := ParseFormat(format)
		if err != nil {
			return
		}
		checkLines(t, pf, []byte(line))
	})
}
