package prometheus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/badinput"
)

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Endpoint = "https://prometheus.example:9090/prefix"
		return c
	}
	tests := []struct {
		name    string
		modify  func(*Config)
		wantErr string // "" for a valid config
	}{
		{name: "defaults with an endpoint", modify: func(*Config) {}},
		{name: "everything set", modify: func(c *Config) {
			c.Step = 5 * time.Minute
			c.Namespaces = []string{"shop", "billing-2"}
			c.Headers = map[string]string{"X-Scope-OrgID": "tenant"}
			c.CAFile = "/ca.pem"
			c.BasicAuth = &BasicAuth{Username: "u", Password: "p:w"}
		}},
		{name: "no endpoint", modify: func(c *Config) { c.Endpoint = "" }, wantErr: "--prometheus is required"},
		{name: "not a URL", modify: func(c *Config) { c.Endpoint = "http://[::1" }, wantErr: `--prometheus is not a valid URL: missing ']' in host`},
		{name: "no scheme", modify: func(c *Config) { c.Endpoint = "prometheus:9090" }, wantErr: `--prometheus "prometheus:9090" must be an http:// or https:// URL`},
		{name: "no host", modify: func(c *Config) { c.Endpoint = "http:///x" }, wantErr: `--prometheus "http:///x" has no host`},
		{name: "credentials in the URL", modify: func(c *Config) { c.Endpoint = "https://u:secret@prom" },
			wantErr: "--prometheus must not contain credentials; use --prometheus-basic-auth-file or $MESHGEN_PROMETHEUS_USERNAME and $MESHGEN_PROMETHEUS_PASSWORD"},
		{name: "query string", modify: func(c *Config) { c.Endpoint = "https://prom/?token=secret" },
			wantErr: `--prometheus "https://prom/" must not have a query string or fragment`},
		{name: "short window", modify: func(c *Config) { c.Window = 59 * time.Second }, wantErr: "--window must be at least 1m"},
		{name: "short step", modify: func(c *Config) { c.Step = 30 * time.Second }, wantErr: "--step must be at least 1m"},
		{name: "fractional step", modify: func(c *Config) { c.Step = time.Minute + time.Millisecond }, wantErr: "--step 1m0.001s must be a whole number of seconds"},
		{name: "step longer than window", modify: func(c *Config) { c.Window, c.Step = time.Hour, 2*time.Hour },
			wantErr: "--step 2h0m0s must not be longer than --window 1h0m0s"},
		{name: "too many points", modify: func(c *Config) { c.Window, c.Step = 10*24*time.Hour, time.Minute },
			wantErr: "--step 1m0s is too small for --window 240h0m0s: that is 14400 points per series and Prometheus allows 11000"},
		{name: "both namespace filters", modify: func(c *Config) { c.Namespaces, c.ExcludeNamespaces = []string{"a"}, []string{"b"} },
			wantErr: "--namespace and --exclude-namespace cannot be used together"},
		{name: "bad namespace", modify: func(c *Config) { c.Namespaces = []string{"Shop"} }, wantErr: `--namespace "Shop" is not a valid namespace name`},
		{name: "injection in exclude", modify: func(c *Config) { c.ExcludeNamespaces = []string{`a"}`} },
			wantErr: `--exclude-namespace "a\"}" is not a valid namespace name`},
		{name: "bad header name", modify: func(c *Config) { c.Headers = map[string]string{"X Tenant": "a"} },
			wantErr: `--prometheus-header: "X Tenant" is not a valid HTTP header name`},
		{name: "authorization header", modify: func(c *Config) { c.Headers = map[string]string{"authorization": "Bearer x"} },
			wantErr: "--prometheus-header must not set authorization (credentials do not belong on the command line)"},
		{name: "header value with newline", modify: func(c *Config) { c.Headers = map[string]string{"X-A": "a\r\nX-B: b"} },
			wantErr: "--prometheus-header: the value of X-A contains a line break or NUL"},
		{name: "bearer and basic", modify: func(c *Config) {
			c.BearerTokenFile = "/token"
			c.BasicAuth = &BasicAuth{Username: "u", Password: "p"}
		}, wantErr: "--prometheus-bearer-token-file and basic authentication (--prometheus-basic-auth-file or $MESHGEN_PROMETHEUS_USERNAME) cannot be used together"},
		{name: "empty password", modify: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "u"} },
			wantErr: "basic authentication for --prometheus: the password is empty"},
		{name: "CA and insecure", modify: func(c *Config) { c.CAFile, c.InsecureSkipTLSVerify = "/ca", true },
			wantErr: "--prometheus-ca-file and --prometheus-insecure-skip-tls-verify cannot be used together"},
		{name: "CA with http", modify: func(c *Config) { c.Endpoint, c.CAFile = "http://prom", "/ca" },
			wantErr: "--prometheus-ca-file needs an https:// --prometheus"},
		{name: "insecure with http", modify: func(c *Config) { c.Endpoint, c.InsecureSkipTLSVerify = "http://prom", true },
			wantErr: "--prometheus-insecure-skip-tls-verify needs an https:// --prometheus"},
		{name: "no timeout", modify: func(c *Config) { c.QueryTimeout = 0 }, wantErr: "--prometheus-timeout must be at least 1s"},
		{name: "negative retries", modify: func(c *Config) { c.Retries = -1 }, wantErr: "--prometheus-retries must be between 0 and 10"},
		{name: "no max series", modify: func(c *Config) { c.MaxSeriesPerQuery = 0 }, wantErr: "--prometheus-max-series must be at least 1"},
		{name: "no concurrency", modify: func(c *Config) { c.Concurrency = 0 }, wantErr: "--prometheus-concurrency must be between 1 and 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error starting with %q", err, tc.wantErr)
			}
			if !badinput.Is(err) {
				t.Errorf("Validate() error %q is not marked as bad input", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Validate() error %q repeats a credential", err)
			}
		})
	}
}

func TestParseBasicAuth(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *BasicAuth
		wantErr string
	}{
		{name: "one line", in: "meshgen:s3cret\n", want: &BasicAuth{Username: "meshgen", Password: "s3cret"}},
		{name: "no final newline", in: "meshgen:s3cret", want: &BasicAuth{Username: "meshgen", Password: "s3cret"}},
		{name: "colon in password", in: "meshgen:a:b:c\n", want: &BasicAuth{Username: "meshgen", Password: "a:b:c"}},
		{name: "two lines", in: "meshgen\ns3:cret\n", want: &BasicAuth{Username: "meshgen", Password: "s3:cret"}},
		{name: "CRLF", in: "meshgen\r\ns3cret\r\n", want: &BasicAuth{Username: "meshgen", Password: "s3cret"}},
		{name: "spaces kept", in: "meshgen: pass word \n", want: &BasicAuth{Username: "meshgen", Password: " pass word "}},
		{name: "empty", in: "", wantErr: `line 1: want "user:password"`},
		{name: "no colon", in: "meshgen\n", wantErr: `line 1: want "user:password"`},
		{name: "no password", in: "meshgen:\n", wantErr: "the password is empty"},
		{name: "no user", in: ":pw\n", wantErr: "the username is empty"},
		{name: "three lines", in: "a\nb\nc\n", wantErr: "line 3: want"},
		{name: "colon in two-line user", in: "a:b\npw\n", wantErr: "the username contains ':'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBasicAuth([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseBasicAuth(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseBasicAuth(%q) = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseBasicAuth(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestBasicAuthFromFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("meshgen:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("meshgen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := BasicAuthFromFile(good)
	if err != nil {
		t.Fatalf("BasicAuthFromFile(good) = %v", err)
	}
	if want := (&BasicAuth{Username: "meshgen", Password: "pw"}); *got != *want {
		t.Errorf("BasicAuthFromFile(good) = %+v, want %+v", got, want)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		_, err := BasicAuthFromFile(path)
		if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "--prometheus-basic-auth-file") {
			t.Errorf("BasicAuthFromFile(%s) error = %v, want a bad-input error naming --prometheus-basic-auth-file", path, err)
		}
	}
	if _, err := BasicAuthFromFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("BasicAuthFromFile(bad) error = %v, want it to name the file", err)
	}
}

func TestBasicAuthFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    *BasicAuth
		wantErr string
	}{
		{name: "unset", env: map[string]string{}},
		{name: "both", env: map[string]string{EnvUsername: "u", EnvPassword: "p"}, want: &BasicAuth{Username: "u", Password: "p"}},
		{name: "only user", env: map[string]string{EnvUsername: "u"}, wantErr: "$MESHGEN_PROMETHEUS_USERNAME is set but $MESHGEN_PROMETHEUS_PASSWORD is not"},
		{name: "only password", env: map[string]string{EnvPassword: "p"}, wantErr: "$MESHGEN_PROMETHEUS_PASSWORD is set but $MESHGEN_PROMETHEUS_USERNAME is not"},
		{name: "empty password", env: map[string]string{EnvUsername: "u", EnvPassword: ""}, wantErr: "the password is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := basicAuthFromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !badinput.Is(err) {
					t.Fatalf("basicAuthFromLookup() error = %v, want a bad-input error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("basicAuthFromLookup() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("basicAuthFromLookup() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("real environment", func(t *testing.T) {
		t.Setenv(EnvUsername, "env-user")
		t.Setenv(EnvPassword, "env-pw")
		got, err := BasicAuthFromEnv()
		if err != nil || got == nil || *got != (BasicAuth{Username: "env-user", Password: "env-pw"}) {
			t.Errorf("BasicAuthFromEnv() = %+v, %v, want env-user/env-pw", got, err)
		}
	})
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@prom:9090/prefix?token=x#frag": "https://prom:9090/prefix",
		"http://prom:9090": "http://prom:9090",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
