package prometheus

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"

	"github.com/meshgen/meshgen/observe/badinput"
)

// userAgent is sent with every request.
const userAgent = "meshgen"

// Backoff between retries: the n-th retry waits a random time between half
// and all of min(backoffMax, backoffBase·2ⁿ), or longer when the server asks
// for it with Retry-After (up to retryAfterMax).
const (
	backoffBase   = 500 * time.Millisecond
	backoffMax    = 30 * time.Second
	retryAfterMax = 2 * time.Minute
)

// hooks are the parts of the environment that tests replace.
type hooks struct {
	// now is the clock used when Config.End is zero.
	now func() time.Time
	// sleep waits d or until ctx is done.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a number in [0, 1).
	jitter func() float64
}

func defaultHooks() hooks {
	return hooks{now: time.Now, sleep: sleepContext, jitter: rand.Float64}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// newAPIClient builds the client that every query goes through. From the
// outside in: retries with a per-attempt timeout (retryingClient), then
// client_golang's HTTP client, then partial_response=false, then headers and
// credentials, then TLS. It reads the CA file now and checks that the bearer
// token file is readable; their problems are bad-input errors.
func newAPIClient(cfg *Config, h hooks) (api.Client, error) {
	base, err := newTLSTransport(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.BearerTokenFile != "" {
		if _, err := readToken(cfg.BearerTokenFile); err != nil {
			return nil, badinput.Mark(err)
		}
	}
	rt := &partialResponseTransport{next: &authTransport{
		next:      base,
		headers:   cfg.Headers,
		tokenFile: cfg.BearerTokenFile,
		basic:     cfg.BasicAuth,
	}}
	c, err := api.NewClient(api.Config{Address: cfg.Endpoint, RoundTripper: rt})
	if err != nil {
		return nil, badinput.Errorf("--%s: %w", FlagEndpoint, err)
	}
	return &retryingClient{
		next:    c,
		retries: cfg.Retries,
		timeout: cfg.QueryTimeout,
		sleep:   h.sleep,
		jitter:  h.jitter,
	}, nil
}

func newTLSTransport(cfg *Config) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipTLSVerify} //nolint:gosec // the user asked for it
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, badinput.Errorf("reading --%s: %w", FlagCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badinput.Errorf("--%s %s holds no PEM certificate", FlagCAFile, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	t.TLSClientConfig = tc
	return t, nil
}

// readToken reads a bearer token file; surrounding white space is dropped.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading --%s: %w", FlagBearerTokenFile, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--%s %s is empty", FlagBearerTokenFile, path)
	}
	if strings.ContainsAny(tok, "\r\n\x00") {
		return "", fmt.Errorf("--%s %s holds more than one line", FlagBearerTokenFile, path)
	}
	return tok, nil
}

// authTransport adds the configured headers and credentials to each request.
// The bearer token file is read again for every request.
type authTransport struct {
	next      http.RoundTripper
	headers   map[string]string
	tokenFile string
	basic     *BasicAuth
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	r.Header.Set("User-Agent", userAgent)
	switch {
	case t.tokenFile != "":
		tok, err := readToken(t.tokenFile)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	case t.basic != nil:
		r.SetBasicAuth(t.basic.Username, t.basic.Password)
	}
	return t.next.RoundTrip(r)
}

// partialResponseTransport asks Thanos (and anything else that honours it)
// not to answer with partial data when a store is down: partial_response=false
// goes into the form body of POST requests (client_golang sends queries,
// range queries and series lookups as POST forms, falling back to GET with the
// same parameters in the URL on 403, 405 and 501) and into the URL query of
// all other requests (label values are always a GET).
type partialResponseTransport struct {
	next http.RoundTripper
}

const partialResponseParam = "partial_response"

func (t *partialResponseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if isFormPost(req) {
		var b []byte
		var err error
		if req.Body != nil {
			b, err = io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("reading the request body: %w", err)
			}
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, fmt.Errorf("parsing the request form: %w", err)
		}
		form.Set(partialResponseParam, "false")
		enc := []byte(form.Encode())
		r.Body = io.NopCloser(bytes.NewReader(enc))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(enc)), nil }
		r.ContentLength = int64(len(enc))
	} else {
		q := r.URL.Query()
		q.Set(partialResponseParam, "false")
		r.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(r)
}

func isFormPost(req *http.Request) bool {
	if req.Method != http.MethodPost {
		return false
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// retryingClient wraps client_golang's api.Client: every attempt gets its own
// timeout, and 5xx answers (except 501, which client_golang uses to fall back
// from POST to GET), 429, timeouts and dropped connections are retried with
// exponential backoff and jitter. Other 4xx answers (bad queries) and refused
// connections are returned at once.
type retryingClient struct {
	next    api.Client
	retries int
	timeout time.Duration
	sleep   func(context.Context, time.Duration) error
	jitter  func() float64
}

var _ api.Client = (*retryingClient)(nil)

func (c *retryingClient) URL(ep string, args map[string]string) *url.URL {
	return c.next.URL(ep, args)
}

func (c *retryingClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	canRetry := req.Body == nil || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		r := req.Clone(actx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, nil, fmt.Errorf("rewinding the request body: %w", err)
			}
			r.Body = body
		}
		resp, body, err := c.next.Do(actx, r)
		attemptTimedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			if err == nil {
				err = context.Cause(ctx)
			}
			return resp, body, err
		}

		var why string // why this attempt may be retried; "" means it may not
		var wait time.Duration
		switch {
		case attemptTimedOut:
			why = fmt.Sprintf("timed out after %s (--%s)", c.timeout, FlagQueryTimeout)
			err = errors.New(why)
		case err != nil:
			if transientNetError(err) {
				why = err.Error()
			}
		case resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode/100 == 5 && resp.StatusCode != http.StatusNotImplemented:
			why = resp.Status
			if detail := errorDetail(body); detail != "" {
				why += ": " + detail
			}
			wait = retryAfter(resp)
		}
		if why == "" || !canRetry {
			return resp, body, err
		}
		if attempt >= c.retries {
			return resp, body, fmt.Errorf("%s (gave up after %s)", why, plural(attempt+1, "attempt"))
		}
		d := c.backoff(attempt)
		if wait > d {
			d = wait
		}
		if err := c.sleep(ctx, d); err != nil {
			return nil, nil, err
		}
	}
}

// backoff is the wait before retry number attempt+1.
func (c *retryingClient) backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 16 {
		d = min(backoffMax, backoffBase<<attempt)
	}
	return d/2 + time.Duration(c.jitter()*float64(d/2))
}

// retryAfter reads a Retry-After header given in seconds, capped.
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, retryAfterMax)
}

// transientNetError reports whether err is a network timeout or a connection
// that the server or something in between dropped. A refused connection is
// not transient: it fails at once.
func transientNetError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// errorDetail extracts the "error" field of a Prometheus error body, or the
// start of a body that is not JSON, for error messages.
func errorDetail(body []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) == nil && r.Error != "" {
		return truncate(r.Error, 300)
	}
	return truncate(strings.TrimSpace(string(body)), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
