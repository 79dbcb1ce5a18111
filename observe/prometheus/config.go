package prometheus

import (
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meshgen/meshgen/observe/badinput"
)

// Flag names that Validate uses in its messages. cmd/meshgen should register
// its flags under these names, so that an error names the flag the user typed.
const (
	FlagEndpoint              = "prometheus"
	FlagWindow                = "window"
	FlagEnd                   = "end"
	FlagStep                  = "step"
	FlagNamespace             = "namespace"
	FlagExcludeNamespace      = "exclude-namespace"
	FlagHeader                = "prometheus-header"
	FlagBearerTokenFile       = "prometheus-bearer-token-file"
	FlagCAFile                = "prometheus-ca-file"
	FlagInsecureSkipTLSVerify = "prometheus-insecure-skip-tls-verify"
	FlagBasicAuthFile         = "prometheus-basic-auth-file"
	FlagQueryTimeout          = "prometheus-timeout"
	FlagRetries               = "prometheus-retries"
	FlagMaxSeriesPerQuery     = "prometheus-max-series"
	FlagConcurrency           = "prometheus-concurrency"
)

// Environment variables read by BasicAuthFromEnv.
const (
	EnvUsername = "MESHGEN_PROMETHEUS_USERNAME"
	EnvPassword = "MESHGEN_PROMETHEUS_PASSWORD"
)

// Defaults set by DefaultConfig.
const (
	DefaultWindow            = 7 * 24 * time.Hour
	DefaultQueryTimeout      = 2 * time.Minute
	DefaultRetries           = 3
	DefaultMaxSeriesPerQuery = 20000
	DefaultConcurrency       = 4
)

// Limits checked by Validate.
const (
	// MinStep is the smallest step: one sample per series per minute is the
	// most a mesh-sized query should ask for.
	MinStep = time.Minute
	// maxPoints is Prometheus's limit on points per series in a range query.
	maxPoints      = 11000
	maxRetries     = 10
	maxConcurrency = 64
)

// Config says where Prometheus is, how to reach it and what to read. It is
// built by cmd/meshgen from flags; nothing in it reads flags or files itself
// except BearerTokenFile and CAFile, which Learn opens.
type Config struct {
	// Endpoint is the base URL of the Prometheus HTTP API (Prometheus, Thanos
	// Query or Query Frontend, Mimir's Prometheus prefix), for example
	// "http://prometheus.istio-system:9090" or "https://mimir/prometheus". It
	// must not carry credentials.
	Endpoint string
	// Window is how far back from End to read; at least one minute.
	Window time.Duration
	// End is the end of the window. The zero time means the time Learn
	// starts. It is rounded down to a multiple of the step (counted from the
	// Unix epoch); Metadata.Windows records the window actually read.
	End time.Time
	// Step is the resolution of the range queries; 0 chooses about 250 steps
	// per window, in whole minutes (see ChooseStep). First and last seen are
	// accurate to one step.
	Step time.Duration
	// Namespaces, when set, limits learning to traffic whose destination is in
	// one of these namespaces. ExcludeNamespaces drops traffic to these
	// destination namespaces. At most one of them may be set.
	Namespaces        []string
	ExcludeNamespaces []string
	// Headers are sent with every request (for example X-Scope-OrgID for
	// Mimir, or a Thanos tenant header). Authorization is not allowed here.
	Headers map[string]string
	// BearerTokenFile is a file holding a bearer token. It is read again for
	// every request, so that rotated tokens (projected service-account tokens)
	// are picked up; Learn checks once at the start that it is readable.
	BearerTokenFile string
	// CAFile is a PEM bundle of the CAs to trust for an https Endpoint,
	// instead of the system roots.
	CAFile string
	// InsecureSkipTLSVerify turns off certificate verification.
	InsecureSkipTLSVerify bool
	// BasicAuth, when set, is sent with every request. Fill it with
	// BasicAuthFromFile or BasicAuthFromEnv, never from a flag value.
	BasicAuth *BasicAuth
	// QueryTimeout bounds each HTTP request (each attempt); it is also sent
	// to Prometheus as the query's evaluation timeout.
	QueryTimeout time.Duration
	// Retries is how many times a request is retried after a 5xx, a 429, a
	// timeout or a dropped connection, with exponential backoff and jitter.
	// Bad queries (other 4xx) are never retried.
	Retries int
	// MaxSeriesPerQuery: a namespace whose query returns more series than
	// this (or that the server refuses as too large) is queried again one
	// destination workload at a time.
	MaxSeriesPerQuery int
	// Concurrency is the number of queries in flight at once.
	Concurrency int
}

// BasicAuth is a username and password for HTTP basic authentication.
type BasicAuth struct {
	Username string
	Password string
}

// DefaultConfig returns a Config with every default filled in; the caller
// sets Endpoint and may override the rest.
func DefaultConfig() Config {
	return Config{
		Window:            DefaultWindow,
		QueryTimeout:      DefaultQueryTimeout,
		Retries:           DefaultRetries,
		MaxSeriesPerQuery: DefaultMaxSeriesPerQuery,
		Concurrency:       DefaultConcurrency,
	}
}

// dnsLabel is a Kubernetes namespace name (RFC 1123 label).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks the configuration without touching the network or the
// files it names. Errors name the offending flag and are bad-input errors.
func (c *Config) Validate() error {
	if err := c.validate(); err != nil {
		return badinput.Mark(err)
	}
	return nil
}

func (c *Config) validate() error {
	if c.Endpoint == "" {
		return fmt.Errorf("--%s is required", FlagEndpoint)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		// url.Error repeats the raw URL, which could hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("--%s is not a valid URL: %w", FlagEndpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--%s %q must be an http:// or https:// URL", FlagEndpoint, redactURL(c.Endpoint))
	}
	if u.Host == "" {
		return fmt.Errorf("--%s %q has no host", FlagEndpoint, redactURL(c.Endpoint))
	}
	if u.User != nil {
		return fmt.Errorf("--%s must not contain credentials; use --%s or $%s and $%s",
			FlagEndpoint, FlagBasicAuthFile, EnvUsername, EnvPassword)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--%s %q must not have a query string or fragment", FlagEndpoint, redactURL(c.Endpoint))
	}
	if c.Window < MinStep {
		return fmt.Errorf("--%s must be at least 1m", FlagWindow)
	}
	if c.Step != 0 {
		if c.Step < MinStep {
			return fmt.Errorf("--%s must be at least 1m", FlagStep)
		}
		if c.Step%time.Second != 0 {
			return fmt.Errorf("--%s %s must be a whole number of seconds", FlagStep, c.Step)
		}
		if c.Step > c.Window {
			return fmt.Errorf("--%s %s must not be longer than --%s %s", FlagStep, c.Step, FlagWindow, c.Window)
		}
		if n := (c.Window + c.Step - 1) / c.Step; n > maxPoints {
			return fmt.Errorf("--%s %s is too small for --%s %s: that is %d points per series and Prometheus allows %d",
				FlagStep, c.Step, FlagWindow, c.Window, n, maxPoints)
		}
	}
	if len(c.Namespaces) > 0 && len(c.ExcludeNamespaces) > 0 {
		return fmt.Errorf("--%s and --%s cannot be used together", FlagNamespace, FlagExcludeNamespace)
	}
	for _, f := range []struct {
		flag string
		list []string
	}{{FlagNamespace, c.Namespaces}, {FlagExcludeNamespace, c.ExcludeNamespaces}} {
		for _, ns := range f.list {
			if len(ns) > 63 || !dnsLabel.MatchString(ns) {
				return fmt.Errorf("--%s %q is not a valid namespace name", f.flag, ns)
			}
		}
	}
	for _, name := range sortedKeys(c.Headers) {
		if !validHeaderName(name) {
			return fmt.Errorf("--%s: %q is not a valid HTTP header name", FlagHeader, name)
		}
		switch textproto.CanonicalMIMEHeaderKey(name) {
		case "Authorization", "Proxy-Authorization":
			return fmt.Errorf("--%s must not set %s (credentials do not belong on the command line); use --%s, --%s or $%s and $%s",
				FlagHeader, name, FlagBearerTokenFile, FlagBasicAuthFile, EnvUsername, EnvPassword)
		case "Host", "Content-Type", "Content-Length":
			return fmt.Errorf("--%s must not set %s", FlagHeader, name)
		}
		if strings.ContainsAny(c.Headers[name], "\r\n\x00") {
			return fmt.Errorf("--%s: the value of %s contains a line break or NUL", FlagHeader, name)
		}
	}
	if c.BearerTokenFile != "" && c.BasicAuth != nil {
		return fmt.Errorf("--%s and basic authentication (--%s or $%s) cannot be used together",
			FlagBearerTokenFile, FlagBasicAuthFile, EnvUsername)
	}
	if c.BasicAuth != nil {
		if err := c.BasicAuth.validate(); err != nil {
			return fmt.Errorf("basic authentication for --%s: %w", FlagEndpoint, err)
		}
	}
	if c.CAFile != "" && c.InsecureSkipTLSVerify {
		return fmt.Errorf("--%s and --%s cannot be used together", FlagCAFile, FlagInsecureSkipTLSVerify)
	}
	if u.Scheme != "https" {
		if c.CAFile != "" {
			return fmt.Errorf("--%s needs an https:// --%s", FlagCAFile, FlagEndpoint)
		}
		if c.InsecureSkipTLSVerify {
			return fmt.Errorf("--%s needs an https:// --%s", FlagInsecureSkipTLSVerify, FlagEndpoint)
		}
	}
	if c.QueryTimeout < time.Second {
		return fmt.Errorf("--%s must be at least 1s", FlagQueryTimeout)
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		return fmt.Errorf("--%s must be between 0 and %d", FlagRetries, maxRetries)
	}
	if c.MaxSeriesPerQuery < 1 {
		return fmt.Errorf("--%s must be at least 1", FlagMaxSeriesPerQuery)
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return fmt.Errorf("--%s must be between 1 and %d", FlagConcurrency, maxConcurrency)
	}
	return nil
}

func (b *BasicAuth) validate() error {
	switch {
	case b.Username == "":
		return errors.New("the username is empty")
	case strings.Contains(b.Username, ":"):
		return errors.New("the username contains ':'")
	case b.Password == "":
		return errors.New("the password is empty")
	case strings.ContainsAny(b.Username+b.Password, "\r\n\x00"):
		return errors.New("the username or password contains a line break or NUL")
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// BasicAuthFromFile reads basic-auth credentials from a file holding either
// "user:password" on one line or the username and the password on two lines.
// Trailing line breaks are ignored; the password may contain ':'. Errors are
// bad-input errors naming the file.
func BasicAuthFromFile(path string) (*BasicAuth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("reading --%s: %w", FlagBasicAuthFile, err)
	}
	ba, err := parseBasicAuth(b)
	if err != nil {
		return nil, badinput.Errorf("--%s %s: %w", FlagBasicAuthFile, path, err)
	}
	return ba, nil
}

// parseBasicAuth parses the contents of a basic-auth file.
func parseBasicAuth(b []byte) (*BasicAuth, error) {
	s := strings.TrimRight(string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), "\n")
	lines := strings.Split(s, "\n")
	var ba BasicAuth
	switch len(lines) {
	case 1:
		user, pass, ok := strings.Cut(lines[0], ":")
		if !ok {
			return nil, errors.New(`line 1: want "user:password", or the username and the password on two lines`)
		}
		ba = BasicAuth{Username: user, Password: pass}
	case 2:
		ba = BasicAuth{Username: lines[0], Password: lines[1]}
	default:
		return nil, fmt.Errorf("line 3: want \"user:password\" on one line, or the username and the password on two lines, found %d lines", len(lines))
	}
	if err := ba.validate(); err != nil {
		return nil, err
	}
	return &ba, nil
}

// BasicAuthFromEnv reads basic-auth credentials from $MESHGEN_PROMETHEUS_USERNAME
// and $MESHGEN_PROMETHEUS_PASSWORD. It returns nil and no error when neither
// is set, and a bad-input error when only one is.
func BasicAuthFromEnv() (*BasicAuth, error) {
	return basicAuthFromLookup(os.LookupEnv)
}

func basicAuthFromLookup(lookup func(string) (string, bool)) (*BasicAuth, error) {
	user, uok := lookup(EnvUsername)
	pass, pok := lookup(EnvPassword)
	switch {
	case !uok && !pok:
		return nil, nil
	case !uok:
		return nil, badinput.Errorf("$%s is set but $%s is not", EnvPassword, EnvUsername)
	case !pok:
		return nil, badinput.Errorf("$%s is set but $%s is not", EnvUsername, EnvPassword)
	}
	ba := &BasicAuth{Username: user, Password: pass}
	if err := ba.validate(); err != nil {
		return nil, badinput.Errorf("$%s/$%s: %w", EnvUsername, EnvPassword, err)
	}
	return ba, nil
}

// ChooseStep returns the step Learn uses for a window when Config.Step is 0:
// about window/250 in whole minutes, at least MinStep. Among the whole-minute
// steps up to twice that size it prefers one that divides the window, so the
// steps tile the window exactly (24h → 6m, 7d → 42m, 30d → 180m).
func ChooseStep(window time.Duration) time.Duration {
	const target = 250
	minutes := int64((window + time.Minute - 1) / time.Minute)
	base := max(1, (minutes+target-1)/target)
	if window%time.Minute == 0 {
		for s := base; s <= 2*base; s++ {
			if minutes%s == 0 {
				return time.Duration(s) * time.Minute
			}
		}
	}
	return time.Duration(base) * time.Minute
}

// redactURL returns raw with any userinfo and query string removed, for
// messages and the snapshot's SourceInfo.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	return u.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
