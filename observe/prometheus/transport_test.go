package prometheus

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/api"

	"github.com/meshgen/meshgen/observe/badinput"
)

// newTestClient returns a retryingClient for url with a short timeout and
// recorded, instant backoff.
func newTestClient(t *testing.T, url string, retries int, timeout time.Duration, sr *sleepRecorder) *retryingClient {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	h := sr.hooks(tEnd)
	return &retryingClient{next: c, retries: retries, timeout: timeout, sleep: h.sleep, jitter: h.jitter}
}

func TestRetryingClientTimeout(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// The first attempt hangs until the client gives up.
			<-r.Context().Done()
			return
		}
		w.Write([]byte(`{"status":"success","data":[]}`))
	}))
	defer srv.Close()

	var sr sleepRecorder
	c := newTestClient(t, srv.URL, 2, 100*time.Millisecond, &sr)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/labels", nil)
	resp, body, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("Do() = %v, want success on the second attempt", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "success") {
		t.Errorf("Do() = %d %q, want 200 and the body", resp.StatusCode, body)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
	if diff := cmp.Diff([]time.Duration{250 * time.Millisecond}, sr.recorded()); diff != "" {
		t.Errorf("backoff waits mismatch (-want +got):\n%s", diff)
	}
}

func TestRetryingClientTimeoutGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	var sr sleepRecorder
	c := newTestClient(t, srv.URL, 1, 50*time.Millisecond, &sr)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/labels", nil)
	_, _, err := c.Do(context.Background(), req)
	want := "timed out after 50ms (--prometheus-timeout) (gave up after 2 attempts)"
	if err == nil || err.Error() != want {
		t.Fatalf("Do() error = %v, want %q", err, want)
	}
}

func TestRetryingClientRewindsBody(t *testing.T) {
	var bodies []string
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		bodies = append(bodies, r.PostForm.Encode())
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"success","data":[]}`))
	}))
	defer srv.Close()
	var sr sleepRecorder
	c := newTestClient(t, srv.URL, 3, time.Second, &sr)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/query", strings.NewReader("query=up"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, _, err := c.Do(context.Background(), req); err != nil {
		t.Fatalf("Do() = %v", err)
	}
	if diff := cmp.Diff([]string{"query=up", "query=up"}, bodies); diff != "" {
		t.Errorf("request bodies mismatch (-want +got):\n%s", diff)
	}
}

func TestRetryingClientConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var sr sleepRecorder
	c := newTestClient(t, "http://"+addr, 3, time.Second, &sr)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/labels", nil)
	_, _, err = c.Do(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Do() error = %v, want connection refused", err)
	}
	if len(sr.recorded()) != 0 {
		t.Errorf("retried a refused connection (waits %v)", sr.recorded())
	}
}

func TestBackoff(t *testing.T) {
	c := &retryingClient{jitter: func() float64 { return 0.999999 }}
	// With the largest jitter each wait is (almost) the full min(30s, 0.5s·2ⁿ).
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		got := c.backoff(n)
		if got > w || got < w-time.Millisecond {
			t.Errorf("backoff(%d) with jitter 1 = %s, want about %s", n, got, w)
		}
	}
	c.jitter = func() float64 { return 0 }
	if got := c.backoff(40); got != 15*time.Second {
		t.Errorf("backoff(40) with jitter 0 = %s, want 15s", got)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":["shop"]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		modify      func(*Config)
		wantErr     string
		wantBadData bool
	}{
		{name: "CA file", modify: func(c *Config) { c.CAFile = caFile }},
		{name: "insecure", modify: func(c *Config) { c.InsecureSkipTLSVerify = true }},
		{name: "system roots", modify: func(*Config) {}, wantErr: "certificate"},
		{name: "CA file without certificates", modify: func(c *Config) { c.CAFile = notPEM },
			wantErr: "--prometheus-ca-file " + notPEM + " holds no PEM certificate", wantBadData: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(srv.URL)
			cfg.Retries = 2
			tc.modify(&cfg)
			var sr sleepRecorder
			client, err := newAPIClient(&cfg, sr.hooks(tEnd))
			if err == nil {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/label/x/values", nil)
				_, _, err = client.Do(context.Background(), req)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("request = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if badinput.Is(err) != tc.wantBadData {
				t.Errorf("badinput.Is(%v) = %v, want %v", err, badinput.Is(err), tc.wantBadData)
			}
			if len(sr.recorded()) != 0 {
				t.Errorf("retried a TLS failure (waits %v)", sr.recorded())
			}
		})
	}
}

func TestPartialResponseTransport(t *testing.T) {
	var got []string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			if int64(len(b)) != r.ContentLength {
				t.Errorf("ContentLength = %d, body has %d bytes", r.ContentLength, len(b))
			}
			got = append(got, r.Method+" body="+string(b)+" url="+r.URL.RawQuery)
		} else {
			got = append(got, r.Method+" url="+r.URL.RawQuery)
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	rt := &partialResponseTransport{next: next}

	post, _ := http.NewRequest(http.MethodPost, "http://prom/api/v1/query_range", strings.NewReader("query=up&partial_response=true"))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	get, _ := http.NewRequest(http.MethodGet, "http://prom/api/v1/label/x/values?match%5B%5D=up", nil)
	for _, r := range []*http.Request{post, get} {
		if _, err := rt.RoundTrip(r); err != nil {
			t.Fatalf("RoundTrip(%s) = %v", r.Method, err)
		}
	}
	want := []string{
		"POST body=partial_response=false&query=up url=",
		"GET url=match%5B%5D=up&partial_response=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	if post.URL.RawQuery != "" || get.URL.RawQuery != "match%5B%5D=up" {
		t.Errorf("RoundTrip modified the caller's request URL: %q, %q", post.URL.RawQuery, get.URL.RawQuery)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransientNetError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", errConnReset)}, want: true},
		{err: &net.DNSError{IsTimeout: true}, want: true},
		{err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", errConnRefused)}, want: false},
		{err: errors.New("x509: certificate signed by unknown authority"), want: false},
	}
	for _, tc := range tests {
		if got := transientNetError(tc.err); got != tc.want {
			t.Errorf("transientNetError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

var (
	errConnReset   = syscall.ECONNRESET
	errConnRefused = syscall.ECONNREFUSED
)
