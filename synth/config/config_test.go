package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/config"
)

const example = `# meshgen settings for the policy repository
apiVersion: meshgen.dev/v1alpha1
kind: Config
emit:
  mode: auto
  trustDomain: corp.example
  trustDomainAliases: [cluster.local]
  minRequests: 5
  dryRun: true
  defaultDeny: false
  istioVersion: "1.24"
  plaintext: no-allow
  onlyNamespaces: [shop, web]
  pathSiblingThreshold: 8
  pathFanoutThreshold: 20
  maxPathsPerRule: 32
  rootNamespace: istio-system
  includeControlPlane: false
  includeGateways: false
namespaces:
  shop:
    mode: ambient
    minRequests: 10
    dryRun: false
    defaultDeny: true
    plaintext: allow-port
    excludeWorkloads: [legacy-*]
exclude:
  namespaces: [kube-system]
  workloads: [web/debug]
  principals: [cluster.local/ns/qa/sa/load-generator]
scrapers:
- namespace: observability
  workload: vmagent*
gateways:
- workload: edge-proxy*
`

func TestApply(t *testing.T) {
	f, err := config.Parse([]byte(example))
	if err != nil {
		t.Fatalf("Parse() error: %v", err)
	}
	got := synth.DefaultOptions()
	f.Apply(&got)
	ambient, allowPort := synth.ModeAmbient, synth.PlaintextAllowPort
	ten, no, yes := int64(10), false, true
	want := synth.Options{
		Mode:                 synth.ModeAuto,
		TrustDomain:          "corp.example",
		TrustDomainAliases:   []string{"cluster.local"},
		MinRequests:          5,
		DryRun:               true,
		IstioVersion:         synth.Version{Major: 1, Minor: 24},
		Plaintext:            synth.PlaintextNoAllow,
		Namespaces:           []string{"shop", "web"},
		ExcludeNamespaces:    []string{"kube-system"},
		ExcludeWorkloads:     []string{"web/debug"},
		ExcludePrincipals:    []string{"cluster.local/ns/qa/sa/load-generator"},
		PathSiblingThreshold: 8,
		PathFanoutThreshold:  20,
		MaxPathsPerRule:      32,
		Scrapers:             []synth.Matcher{{Namespace: "observability", Workload: "vmagent*"}},
		Gateways:             []synth.Matcher{{Workload: "edge-proxy*"}},
		RootNamespace:        "istio-system",
		PerNamespace: map[string]synth.NamespaceOptions{"shop": {
			Mode: &ambient, MinRequests: &ten, DryRun: &no, DefaultDeny: &yes, Plaintext: &allowPort, ExcludeWorkloads: []string{"legacy-*"},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply() (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key", "emit:\n  minRequest: 5\n", "line 2: field minRequest not found"},
		{"unknown top-level key", "emits: {}\n", "line 1: field emits not found"},
		{"bad mode", "emit:\n  mode: hybrid\n", `line 2: mode "hybrid"`},
		{"bad plaintext", "namespaces:\n  shop:\n    plaintext: open\n", `line 3: plaintext handling "open"`},
		{"bad version", "emit:\n  istioVersion: latest\n", `line 2: istio version "latest"`},
		{"bad type", "emit:\n  minRequests: many\n", "line 2"},
		{"negative", "emit:\n  minRequests: -3\n", "min-requests"},
		{"spiffe principal", "exclude:\n  principals: [spiffe://cluster.local/ns/a/sa/b]\n", "without spiffe://"},
		{"bad workload", "exclude:\n  workloads: [debug]\n", "namespace/workload"},
		{"wrong apiVersion", "apiVersion: v1\n", `apiVersion "v1"`},
		{"two documents", "emit: {}\n---\nemit: {}\n", "only one YAML document"},
		{"not a mapping", "- a\n- b\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error = %v, want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "{}\n"} {
		f, err := config.Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q) error: %v", in, err)
		}
		got := synth.DefaultOptions()
		f.Apply(&got)
		if diff := cmp.Diff(synth.DefaultOptions(), got); diff != "" {
			t.Errorf("Parse(%q).Apply changed the defaults (-want +got):\n%s", in, diff)
		}
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), config.FileName)
	if err := os.WriteFile(p, []byte("emit:\n  colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(p)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Load() error = %v, want a bad-input error naming %s and line 2", err, p)
	}
	_, err = config.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !badinput.Is(err) {
		t.Errorf("Load(missing) error = %v, want a bad-input error", err)
	}
}

// TestDocumentedExample checks that the example in docs/configuration.md
// parses, so that the documentation stays true.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatalf("reading docs/configuration.md: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	if !ok {
		t.Fatal("docs/configuration.md has no yaml example")
	}
	yamlText, _, _ := strings.Cut(rest, "```")
	if _, err := config.Parse([]byte(yamlText)); err != nil {
		t.Errorf("the documented example does not parse: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("emit:\n  mode: ambient\n"))
	f.Add([]byte("namespaces:\n  shop: {minRequests: 3}\n"))
	f.Add([]byte("exclude: {workloads: [a/b]}\n"))
	f.Add([]byte("emit: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := config.Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must give valid options.
		opts := synth.DefaultOptions()
		cfg.Apply(&opts)
		if err := opts.Validate(); err != nil {
			t.Errorf("Parse(%q) accepted a config whose options are invalid: %v", b, err)
		}
	})
}
