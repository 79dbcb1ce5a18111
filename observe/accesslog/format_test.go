package accesslog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

func TestCustomFormat(t *testing.T) {
	cartNoSvc := snapshot.Destination{Namespace: "shop", Workload: "cart"}
	for _, tc := range []struct {
		name   string
		format string
		lines  string
		want   []edgeSpec
	}{
		{
			name:   "the example from istio-semantics 5.4",
			format: `[%START_TIME%] %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% peer=%DOWNSTREAM_PEER_URI_SAN% local=%DOWNSTREAM_LOCAL_URI_SAN% dst=%DOWNSTREAM_LOCAL_ADDRESS%\n`,
			lines: "[2026-11-01T10:00:01.000Z] GET /cart/items?x=1 200 peer=spiffe://cluster.local/ns/shop/sa/web local=spiffe://cluster.local/ns/shop/sa/cart dst=10.1.0.20:8080\n" +
				"[2026-11-01T10:00:02.000Z] GET /cart/items 200 peer=- local=spiffe://cluster.local/ns/shop/sa/cart dst=10.1.0.20:8080\n",
			want: []edgeSpec{
				// No cluster: the peer certificate says server side; without a
				// remote address the caller is its certificate alone.
				{src: snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", IdentityFrom: snapshot.IdentityCertificate},
					dst: snapshot.Destination{Namespace: "shop", Workload: "cart", Principal: "cluster.local/ns/shop/sa/cart"}, reporter: dest,
					port: 8080, proto: http, method: "GET", path: "/cart/items", counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(1000), evidence: envE},
				// "-": plaintext. Without a peer certificate or cluster the
				// line does not say which side logged it: client side.
			},
		},
		{
			name:   "no START_TIME: the kubectl --timestamps time",
			format: `%REQ(:METHOD)% %REQ(:PATH)% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %UPSTREAM_CLUSTER_RAW% %REQUESTED_SERVER_NAME%`,
			lines:  "2026-11-01T10:00:05.000000000Z get /cart/items?a=b 10.1.0.20:8080 10.1.0.10:5000 inbound|8080|| outbound_.80_._.cart.shop.svc.cluster.local\n",
			want: []edgeSpec{{src: webPodIP, dst: cartDst, reporter: dest, port: 8080, proto: http, method: "GET", path: "/cart/items",
				counts: snapshot.Counts{Requests: 1, MTLS: 1}, first: at(5000), evidence: envE}},
		},
		{
			name:   "epoch START_TIME, quoted fields, split addresses",
			format: `%START_TIME(%s)% "%REQ(:METHOD)%" "%REQ(:PATH)%" %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_CLUSTER% %UNKNOWN_OPERATOR(x)%`,
			lines:  "1793527206 \"PUT\" \"/cart/items/1\" 10.1.0.21 8080 10.9.0.5 inbound|8080|| whatever\n",
			// Transport security unknown (no SAN, no server name): the
			// principal is inferred, and neither mTLS nor plaintext counted.
			want: []edgeSpec{{src: snapshot.Source{Principal: "cluster.local/ns/monitoring/sa/prometheus", Namespace: "monitoring", Workload: "prometheus",
				IdentityFrom: snapshot.IdentityPodIP}, dst: cartNoSvc, reporter: dest, port: 8080, proto: http, method: "PUT", path: "/cart/items/1",
				counts: snapshot.Counts{Requests: 1}, first: time.Unix(1793527206, 0).UTC(), evidence: envE}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Format = tc.format
			cfg.End = time.Time{}
			res := learnString(t, cfg, tc.lines)
			var got []snapshot.Edge
			for _, e := range res.Snapshot.Edges {
				if e.Reporter != srcR {
					got = append(got, e)
				}
			}
			checkEdges(t, got, wantEdges(tc.want...))
			if res.Inputs[0].Malformed != 0 {
				t.Errorf("Malformed = %d, want 0", res.Inputs[0].Malformed)
			}
		})
	}
}

func TestCustomJSONFormat(t *testing.T) {
	cfg := testConfig()
	cfg.Format = `{"ts":"%START_TIME%","m":"%REQ(:METHOD)%","p":"%REQ(:PATH)%","peer":"%DOWNSTREAM_PEER_URI_SAN%",
		"dst":"%DOWNSTREAM_LOCAL_ADDRESS%","cluster":"%UPSTREAM_CLUSTER_RAW%","code":"%RESPONSE_CODE%","note":"text %PROTOCOL%"}`
	res := learnString(t, cfg,
		`{"ts":"2026-11-01T10:00:01Z","m":"POST","p":"/cart/checkout?now=1","peer":"spiffe://cluster.local/ns/shop/sa/web","dst":"10.1.0.20:8080","cluster":"inbound|8080||","code":500,"note":"x"}`+"\n"+
			`{"level":"info","time":"2026-11-01T10:00:02Z","scope":"cache","msg":"other output"}`+"\n")
	checkEdges(t, res.Snapshot.Edges, wantEdges(edgeSpec{
		src: snapshot.Source{Principal: "cluster.local/ns/shop/sa/web", Namespace: "shop", IdentityFrom: snapshot.IdentityCertificate},
		dst: snapshot.Destination{Namespace: "shop", Workload: "cart"}, reporter: dest, port: 8080, proto: http, method: "POST", path: "/cart/checkout",
		counts: snapshot.Counts{Requests: 1, MTLS: 1, ServerErrors: 1}, first: at(1000), evidence: envE}))
	checkStats(t, res.Inputs[0], InputStats{Lines: 2, Records: 1, Envoy: 1, Skipped: 1})
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{in: ""}, {in: "auto"}, {in: "envoy"}, {in: "envoy-json"}, {in: "ztunnel"}, {in: "ztunnel-json"},
		{in: IstioTextFormat}, {in: RecommendedFormat}, {in: RecommendedJSONFormat},
		{in: "%REQ(:METHOD)% %UPSTREAM_CLUSTER_RAW%%%"},
		{in: "text", wantErr: `--log-format "text" is not a format`},
		{in: "%REQ(:METHOD)%%REQ(:PATH)% %UPSTREAM_CLUSTER%", wantErr: "follow each other with nothing between them"},
		{in: "%BYTES_SENT% %DURATION%", wantErr: "no operator that meshgen reads"},
		{in: "%REQ(:METHOD)% %REQ(:PATH)%", wantErr: "names neither end of the connection"},
		{in: "%REQ(:METHOD %UPSTREAM_CLUSTER%", wantErr: "unclosed '('"},
		{in: "%REQ(:METHOD)% 50% %UPSTREAM_CLUSTER%", wantErr: "does not start an operator"},
		{in: `{"a":"%BYTES_SENT%"}`, wantErr: "no key whose value is an operator meshgen reads"},
		{in: `{"a":`, wantErr: "not a JSON object"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseFormat(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ParseFormat(%q) = %v, want no error", tc.in, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ParseFormat(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
			case err != nil && !badinput.Is(err):
				t.Errorf("ParseFormat(%q) = %v, want a bad-input error", tc.in, err)
			case err != nil && !strings.Contains(err.Error(), "--log-format"):
				t.Errorf("ParseFormat(%q) = %v, want the flag named", tc.in, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"default", func(*Config) {}, ""},
		{"zero cap", func(c *Config) { c.MaxPathsPerDestination = 0 }, "--max-paths-per-destination must be at least 1"},
		{"negative window", func(c *Config) { c.Window = -time.Hour }, "--window must not be negative"},
		{"bad format", func(c *Config) { c.Format = "xml" }, "--log-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, badinput.ErrBadInput) {
				t.Errorf("Validate() = %v, want a bad-input error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTextFormatParse(t *testing.T) {
	// The built-in format reads the default format and RecommendedFormat.
	def := `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 outbound_.8000_._.httpbin.foo.svc.cluster.local default`
	var r record
	if !builtinText.parse([]byte(def), &r) {
		t.Fatalf("builtinText.parse(%q) = false", def)
	}
	for f, want := range map[field]string{
		fStartTime: "2020-11-25T21:26:18.409Z", fMethod: "GET", fPath: "/status/418", fProtocol: "HTTP/1.1",
		fResponseCode: "418", fUpstreamHost: "127.0.0.1:80", fUpstreamCluster: "inbound|8000||",
		fDownstreamLocal: "10.44.1.27:80", fDownstreamRemote: "10.44.1.23:37652",
		fSNI: "outbound_.8000_._.httpbin.foo.svc.cluster.local", fRouteName: "default", fAuthority: "httpbin:8000",
	} {
		if got := string(r.vals[f]); got != want || !r.has(f) {
			t.Errorf("field %d = %q (present %v), want %q", f, got, r.has(f), want)
		}
	}
	if r.has(fPeerSAN) {
		t.Errorf("the default format's line has the peer SAN present, want absent")
	}
	rec := def + ` "spiffe://cluster.local/ns/foo/sa/sleep" "-" "-" "-"`
	r.reset()
	if !builtinText.parse([]byte(rec), &r) {
		t.Fatalf("builtinText.parse(%q) = false", rec)
	}
	if got := string(r.get(fPeerSAN)); got != "spiffe://cluster.local/ns/foo/sa/sleep" || string(r.get(fRouteName)) != "default" {
		t.Errorf("peer SAN = %q, route = %q; want the SAN and \"default\"", got, r.get(fRouteName))
	}
	if !r.has(fLocalSAN) || r.get(fLocalSAN) != nil {
		t.Errorf("local SAN \"-\" should be present and empty")
	}
}
