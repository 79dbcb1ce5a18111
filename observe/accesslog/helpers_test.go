package accesslog

import (
	"testing"
	"time"

	"github.com/meshgen/meshgen/observe/snapshot"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		n    int
	}{
		{"2020-11-25T21:26:18.409Z", time.Date(2020, 11, 25, 21, 26, 18, 409e6, time.UTC), 24},
		{"2024-04-12T10:17:44.080629Z\tinfo", time.Date(2024, 4, 12, 10, 17, 44, 80629e3, time.UTC), 27},
		{"2025-01-30T12:10:13.682034460Z [", time.Date(2025, 1, 30, 12, 10, 13, 682034460, time.UTC), 30},
		{"2026-11-01 10:00:00+02:00", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), 25},
		{"2026-11-01T10:00:00.1234567891-0130", time.Date(2026, 11, 1, 11, 30, 0, 123456789, time.UTC), 35},
		{"2024-02-29T00:00:00", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), 19},
		{"1969-12-31T23:59:59Z", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), 20},
		{"1793527206", time.Unix(1793527206, 0), 10},
		{"1793527206.25 x", time.Unix(1793527206, 25e7), 13},
		{"1793527206123", time.Unix(1793527206, 123e6), 13},
	} {
		ns, n, ok := parseTime([]byte(tc.in))
		if !ok || !time.Unix(0, ns).Equal(tc.want) || n != tc.n {
			t.Errorf("parseTime(%q) = %v, %d, %v, want %v, %d, true", tc.in, time.Unix(0, ns).UTC(), n, ok, tc.want, tc.n)
		}
	}
	for _, bad := range []string{"", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01X00:00:00Z",
		"2024-01-01T00:00:00.Z", "12345", "[2024-01-01", "2024-01-01T00:00:00+2"} {
		if _, _, ok := parseTime([]byte(bad)); ok {
			t.Errorf("parseTime(%q) ok, want not ok", bad)
		}
	}
}

func TestSplitAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ip   string
		port int
	}{
		{"10.1.0.20:8080", "10.1.0.20", 8080},
		{"10.1.0.20", "10.1.0.20", 0},
		{"[fd00::1]:9080", "fd00::1", 9080},
		{"fd00::1", "fd00::1", 0},
		{"envoy://connect_originate/10.244.0.32:9080", "10.244.0.32", 9080},
		{"envoy://inbound-pod|9080||10.244.2.9/", "10.244.2.9", 9080},
		{"envoy://internal_client_address/", "", 0},
		{"-", "", 0},
		{"10.1.0.20:99999", "10.1.0.20", 0},
		{"httpbin:8000", "", 0},
		{"1.2.3.4.5:1", "", 0},
	} {
		ip, port := splitAddr([]byte(tc.in))
		if string(ip) != tc.ip || port != tc.port {
			t.Errorf("splitAddr(%q) = %q, %d, want %q, %d", tc.in, ip, port, tc.ip, tc.port)
		}
	}
}

func TestWorkloadFromPodName(t *testing.T) {
	for in, want := range map[string]string{
		"productpage-v1-87d54dd59-fzflt":       "productpage-v1",
		"reviews-v2-6f9b55c5db-vnpzr":          "reviews-v2",
		"waypoint-5cb6c6977c-ln2h5":            "waypoint",
		"ztunnel-x8kzt":                        "ztunnel",
		"prometheus-0":                         "prometheus",
		"backup-28391234-bcdfg":                "backup",
		"curl":                                 "curl",
		"my-app":                               "my-app",
		"istio-ingressgateway-cbdcbb75c-hhcwn": "istio-ingressgateway",
		"web-aeiou":                            "web-aeiou", // vowels: not a hash
	} {
		if got := workloadFromPodName(in); got != want {
			t.Errorf("workloadFromPodName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripKubectl(t *testing.T) {
	for _, tc := range []struct {
		in, rest, pod, container string
		ts                       time.Time
	}{
		{in: "[pod/web-1/istio-proxy] 2026-11-01T10:00:01.5Z [2026-11-01T10:00:01.000Z] \"GET", rest: "[2026-11-01T10:00:01.000Z] \"GET",
			pod: "web-1", container: "istio-proxy", ts: time.Date(2026, 11, 1, 10, 0, 1, 5e8, time.UTC)},
		{in: "2026-11-01T10:00:01Z [pod/web-1/istio-proxy] {\"a\":1}", rest: "{\"a\":1}", pod: "web-1", container: "istio-proxy",
			ts: time.Date(2026, 11, 1, 10, 0, 1, 0, time.UTC)},
		// ztunnel's own timestamp, with tabs or spaces, is the line's.
		{in: "2026-11-01T10:00:01Z\tinfo\taccess\tx", rest: "2026-11-01T10:00:01Z\tinfo\taccess\tx"},
		{in: "2026-11-01T10:00:01Z info    access  x", rest: "2026-11-01T10:00:01Z info    access  x"},
		{in: "2026-11-01T10:00:02Z 2026-11-01T10:00:01Z\tinfo\taccess", rest: "2026-11-01T10:00:01Z\tinfo\taccess", ts: time.Date(2026, 11, 1, 10, 0, 2, 0, time.UTC)},
		{in: "[pod/unterminated", rest: "[pod/unterminated"},
	} {
		rest, p := stripKubectl([]byte(tc.in))
		var got time.Time
		if p.ts != 0 {
			got = time.Unix(0, p.ts).UTC()
		}
		if string(rest) != tc.rest || string(p.pod) != tc.pod || string(p.container) != tc.container || !got.Equal(tc.ts) {
			t.Errorf("stripKubectl(%q) = %q, pod %q/%q, ts %v; want %q, %q/%q, %v", tc.in, rest, p.pod, p.container, got, tc.rest, tc.pod, tc.container, tc.ts)
		}
	}
}

func TestSmallHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"outbound_.8000_._.httpbin.foo.svc.cluster.local":        "httpbin.foo.svc.cluster.local",
		"outbound_.9080_.v1_.reviews.bookinfo.svc.cluster.local": "reviews.bookinfo.svc.cluster.local",
		"outbound_.8000": "",
		"-":              "",
		"istio-http/1.1": "",
	} {
		if got := string(sniHost([]byte(in))); got != want {
			t.Errorf("sniHost(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		"/shop.v1.Cart/AddItem": true, "/grpc.health.v1.Health/Check": true,
		"/Health/Check": false, "/a.b/c/d": false, "/a./c": false, "/a.b/": false, "/": false,
	} {
		if got := grpcPath([]byte(in)); got != want {
			t.Errorf("grpcPath(%q) = %v, want %v", in, got, want)
		}
	}
	var scratch []byte
	for in, want := range map[string]string{
		`a\"b`: `a"b`, `tab\there`: "tab\there", `\u{1f600}`: "\U0001f600", `back\\slash`: `back\slash`,
	} {
		got, ok := unescapeRust([]byte(in), &scratch)
		if !ok || string(got) != want {
			t.Errorf("unescapeRust(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\q`, `\u{zz}`, `\u{110000}`, `\u1234`} {
		if _, ok := unescapeRust([]byte(bad), &scratch); ok {
			t.Errorf("unescapeRust(%q) ok, want not ok", bad)
		}
	}
	for in, want := range map[string]string{
		"reviews.bookinfo.svc.cluster.local": "bookinfo", "reviews.bookinfo.svc": "bookinfo",
		"reviews.bookinfo": "", "api.stripe.com": "", "reviews": "",
	} {
		if got := string(hostNamespace([]byte(in))); got != want {
			t.Errorf("hostNamespace(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]cluster{
		"inbound|8080||": {kind: []byte("inbound"), port: 8080, proto: []byte(""), host: []byte("")},
		"outbound|80|v1|reviews.bookinfo.svc.cluster.local":             {kind: []byte("outbound"), port: 80, proto: []byte("v1"), host: []byte("reviews.bookinfo.svc.cluster.local")},
		"inbound-vip|8081|http/canary|customers.lab.svc.cluster.local;": {kind: []byte("inbound-vip"), port: 8081, proto: []byte("http"), host: []byte("customers.lab.svc.cluster.local")},
		"PassthroughCluster": {kind: []byte("PassthroughCluster")},
	} {
		got := parseCluster([]byte(in))
		if string(got.kind) != string(want.kind) || got.port != want.port || string(got.proto) != string(want.proto) || string(got.host) != string(want.host) {
			t.Errorf("parseCluster(%q) = %q %d %q %q, want %q %d %q %q", in, got.kind, got.port, got.proto, got.host, want.kind, want.port, want.proto, want.host)
		}
	}
}

func TestScanJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		path string
	}{
		{`{"path":"/a"}`, true, "/a"},
		{` { "path" : "/a\"b" , "x" : [1, {"y": "]"}], "z": {"k": "}"} } `, true, `/a"b`},
		{`{"path":"\ud83d\ude00"}`, true, "\U0001f600"},
		{`{"path":null}`, true, ""},
		{`{}`, true, ""},
		{`{"path":"/a"} x`, false, ""},
		{`{"path":"/a",}`, false, ""},
		{`{"path":nul}`, false, ""},
		{`{"path":"/a`, false, ""},
		{`{"path":"\x"}`, false, ""},
		{`["path"]`, false, ""},
		{`{"a":[1,2}`, false, ""},
	} {
		var r record
		var scratch []byte
		err := scanJSON([]byte(tc.in), builtinJSON, &r, &scratch)
		if (err == nil) != tc.ok || (tc.ok && string(r.get(fPath)) != tc.path) {
			t.Errorf("scanJSON(%q) = %v, path %q; want ok %v, path %q", tc.in, err, r.get(fPath), tc.ok, tc.path)
		}
	}
	// The fast quote search agrees with the careful one.
	for _, s := range []string{`abc"`, `"`, `0123456789abcdef"x`, `no quote`, `1234567"`, `12345678"`} {
		want, _ := findQuote([]byte(s), 0)
		if got := findQuoteFast([]byte(s), 0); got != want {
			t.Errorf("findQuoteFast(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestCompareKeys checks that the local comparator orders keys exactly as
// snapshot.CompareKeys does, field by field.
func TestCompareKeys(t *testing.T) {
	vals := []string{"", "a", "b"}
	base := snapshot.Key{SrcPrincipal: "a", SrcNamespace: "a", SrcWorkload: "a", SrcIP: "a", DstNamespace: "a", DstWorkload: "a",
		DstService: "a", Reporter: "a", Port: 1, Protocol: "a", Method: "a", Path: "a"}
	setters := []func(*snapshot.Key, int){
		func(k *snapshot.Key, i int) { k.SrcPrincipal = vals[i] }, func(k *snapshot.Key, i int) { k.SrcNamespace = vals[i] },
		func(k *snapshot.Key, i int) { k.SrcWorkload = vals[i] }, func(k *snapshot.Key, i int) { k.SrcIP = vals[i] },
		func(k *snapshot.Key, i int) { k.DstNamespace = vals[i] }, func(k *snapshot.Key, i int) { k.DstWorkload = vals[i] },
		func(k *snapshot.Key, i int) { k.DstService = vals[i] }, func(k *snapshot.Key, i int) { k.Reporter = vals[i] },
		func(k *snapshot.Key, i int) { k.Port = i }, func(k *snapshot.Key, i int) { k.Protocol = vals[i] },
		func(k *snapshot.Key, i int) { k.Method = vals[i] }, func(k *snapshot.Key, i int) { k.Path = vals[i] },
		func(k *snapshot.Key, i int) { k.PathPrefix = i == 1 },
	}
	for i, set := range setters {
		for x := range 3 {
			for y := range 3 {
				for j, other := range setters { // a second field differing too
					a, b := base, base
					set(&a, x)
					set(&b, y)
					other(&b, (x+j)%3)
					if got, want := compareKeys(&a, &b), snapshot.CompareKeys(a, b); got != want {
						t.Errorf("field %d, %d: compareKeys(%+v, %+v) = %d, want %d", i, j, a, b, got, want)
					}
				}
			}
		}
	}
}
