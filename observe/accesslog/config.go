package accesslog

import (
	"runtime"
	"strings"
	"time"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// Flag names that Validate and ParseFormat use in their messages.
// cmd/meshgen should register its flags under these names.
const (
	FlagAccessLog              = "access-log"
	FlagFromPods               = "from-pods"
	FlagSince                  = "since"
	FlagLogFormat              = "log-format"
	FlagStrict                 = "strict"
	FlagMaxPathsPerDestination = "max-paths-per-destination"
	FlagWindow                 = "window"
	FlagEnd                    = "end"
)

// Names of the built-in formats, for Config.Format.
const (
	// FormatAuto reads every built-in format, telling them apart line by
	// line, so that a file may mix them (as `kubectl logs --prefix` of
	// several containers does).
	FormatAuto = "auto"
	// FormatZtunnel is ztunnel's plain text format.
	FormatZtunnel = "ztunnel"
	// FormatZtunnelJSON is ztunnel's JSON format (LOG_FORMAT=json).
	FormatZtunnelJSON = "ztunnel-json"
	// FormatEnvoy is Istio's default Envoy TEXT format, or RecommendedFormat.
	FormatEnvoy = "envoy"
	// FormatEnvoyJSON is Istio's default Envoy JSON keys, or
	// RecommendedJSONFormat.
	FormatEnvoyJSON = "envoy-json"
)

// Defaults set by DefaultConfig.
const (
	DefaultMaxPathsPerDestination = 10000
	DefaultTrustDomain            = "cluster.local"
)

// MaxLineBytes is the longest line read; longer lines are malformed.
const MaxLineBytes = 1 << 20

// Config says how to read access logs. It is built by cmd/meshgen from
// flags; the inputs themselves are given to Learn.
type Config struct {
	// Format is FormatAuto (or ""), another built-in format name, an Envoy
	// format string (any value containing '%'), or a JSON Envoy format (a
	// JSON object whose values are operators, such as
	// {"path":"%REQ(:PATH)%",...}). See ParseFormat.
	Format string
	// Strict makes the first malformed line an error.
	Strict bool
	// MaxPathsPerDestination bounds the distinct raw paths kept per
	// destination; further paths are folded into path prefixes.
	MaxPathsPerDestination int
	// Window is how far back from End to read; 0 reads every line up to End.
	Window time.Duration
	// End is the end of the window. The zero time means the time Learn starts.
	End time.Time
	// Inventory maps addresses and pod names to workloads. It may be nil or
	// empty: callers are then known only by their certificate or address,
	// and destinations only by pod names and identities.
	Inventory *snapshot.Index
	// TrustDomain is the trust domain of principals inferred from pod IPs
	// (the Envoy default format carries no identity).
	TrustDomain string
	// Workers is the number of lines parsed in parallel; 0 means GOMAXPROCS.
	Workers int
	// OpenInputs is the number of inputs (files, pod log streams) read at
	// once; 0 means max(2, Workers).
	OpenInputs int
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Format:                 FormatAuto,
		MaxPathsPerDestination: DefaultMaxPathsPerDestination,
		TrustDomain:            DefaultTrustDomain,
	}
}

// Validate checks the configuration. Errors name the offending flag and are
// bad-input errors.
func (c *Config) Validate() error {
	if _, err := ParseFormat(c.Format); err != nil {
		return err
	}
	if c.MaxPathsPerDestination < 1 {
		return badinput.Errorf("--%s must be at least 1", FlagMaxPathsPerDestination)
	}
	if c.Window < 0 {
		return badinput.Errorf("--%s must not be negative", FlagWindow)
	}
	if c.Workers < 0 || c.OpenInputs < 0 {
		return badinput.Errorf("access logs: workers and open inputs must not be negative")
	}
	if c.TrustDomain != "" && strings.ContainsAny(c.TrustDomain, "/ \t*") {
		return badinput.Errorf("access logs: trust domain %q is not valid", c.TrustDomain)
	}
	return nil
}

func (c *Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (c *Config) openInputs() int {
	if c.OpenInputs > 0 {
		return c.OpenInputs
	}
	return max(2, c.workers())
}

// Format is a compiled --log-format.
type Format struct {
	name string
	mode mode
	text *textFormat
	json *keyTable
}

// String returns the format as given.
func (f *Format) String() string { return f.name }

// ParseFormat compiles a --log-format value: "" or "auto", "ztunnel",
// "ztunnel-json", "envoy", "envoy-json", an Envoy format string (any value
// with a '%'), or a JSON Envoy format (a value starting with '{'). Errors are
// bad-input errors naming the flag.
func ParseFormat(s string) (*Format, error) {
	t := strings.TrimSpace(s)
	switch t {
	case "", FormatAuto:
		return &Format{name: FormatAuto, mode: modeAuto}, nil
	case FormatZtunnel:
		return &Format{name: t, mode: modeZtunnelText}, nil
	case FormatZtunnelJSON:
		return &Format{name: t, mode: modeZtunnelJSON}, nil
	case FormatEnvoy:
		return &Format{name: t, mode: modeEnvoyText}, nil
	case FormatEnvoyJSON:
		return &Format{name: t, mode: modeEnvoyJSON}, nil
	}
	if strings.HasPrefix(t, "{") {
		kt, err := compileJSON(t)
		if err != nil {
			return nil, badinput.Errorf("--%s: %w", FlagLogFormat, err)
		}
		return &Format{name: s, mode: modeEnvoyJSON, json: kt}, nil
	}
	if strings.Contains(s, "%") {
		tf, err := compileText(s)
		if err != nil {
			return nil, badinput.Errorf("--%s: %w", FlagLogFormat, err)
		}
		return &Format{name: s, mode: modeEnvoyText, text: tf}, nil
	}
	return nil, badinput.Errorf("--%s %q is not a format: use %s, %s, %s, %s, %s, an Envoy format string with %%OPERATORS%%, or a JSON format",
		FlagLogFormat, s, FormatAuto, FormatEnvoy, FormatEnvoyJSON, FormatZtunnel, FormatZtunnelJSON)
}

// window returns the bounds in Unix nanoseconds; start is math.MinInt64
// when there is no lower bound.
func (c *Config) window() (start, end int64, w snapshot.Window) {
	e := c.End
	if e.IsZero() {
		e = time.Now()
	}
	e = e.UTC()
	end = e.UnixNano()
	start = -1 << 63
	w = snapshot.Window{End: e}
	if c.Window > 0 {
		s := e.Add(-c.Window)
		start = s.UnixNano()
		w.Start = s
	}
	return start, end, w
}
