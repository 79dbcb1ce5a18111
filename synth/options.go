package synth

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Mode selects the data plane that policies are written for.
type Mode string

// Modes. ModeAuto takes each workload's mode from the inventory.
const (
	ModeAuto    Mode = "auto"
	ModeSidecar Mode = "sidecar"
	ModeAmbient Mode = "ambient"
)

// ParseMode parses a --mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeSidecar, ModeAmbient:
		return m, nil
	}
	return "", fmt.Errorf("mode %q is not one of auto, sidecar, ambient", s)
}

// PlaintextHandling says what happens to the ALLOW policy of a workload that
// received plaintext (callers without a certificate).
type PlaintextHandling string

// Plaintext handlings.
const (
	// PlaintextNoAllow writes no ALLOW policy for the workload: a policy that
	// names principals would deny every plaintext caller.
	PlaintextNoAllow PlaintextHandling = "no-allow"
	// PlaintextAllowPort keeps the ALLOW policy and adds a rule that admits
	// any caller on the ports that received plaintext.
	PlaintextAllowPort PlaintextHandling = "allow-port"
)

// ParsePlaintext parses a --plaintext value.
func ParsePlaintext(s string) (PlaintextHandling, error) {
	switch p := PlaintextHandling(s); p {
	case PlaintextNoAllow, PlaintextAllowPort:
		return p, nil
	}
	return "", fmt.Errorf("plaintext handling %q is not one of no-allow, allow-port", s)
}

// Version is an Istio release line.
type Version struct{ Major, Minor int }

// ParseVersion parses "1.22", "1.22.3" or "v1.22".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("istio version %q is not of the form 1.N or 1.N.P", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("istio version %q is not of the form 1.N or 1.N.P", s)
		}
		n[i] = v
	}
	if n[0] != 1 {
		return Version{}, fmt.Errorf("istio version %q: only Istio 1.x is known", s)
	}
	return Version{Major: n[0], Minor: n[1]}, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// DefaultIstioVersion is the Istio release line assumed without --istio-version.
var DefaultIstioVersion = Version{Major: 1, Minor: 26}

// Matcher recognises a workload or a caller. Every field that is set must
// match; a value ending in "*" matches by prefix. An empty Matcher matches
// nothing.
type Matcher struct {
	Namespace string `json:"namespace,omitempty"`
	Workload  string `json:"workload,omitempty"`
	Principal string `json:"principal,omitempty"`
}

func (m Matcher) empty() bool { return m.Namespace == "" && m.Workload == "" && m.Principal == "" }

// matches reports whether the caller or workload (ns, workload, principal)
// matches m. Fields of m that are set must match non-empty values.
func (m Matcher) matches(ns, workload, principal string) bool {
	if m.empty() {
		return false
	}
	return globMatch(m.Namespace, ns) && globMatch(m.Workload, workload) && globMatch(m.Principal, principal)
}

// globMatch matches value against pattern: "" matches anything, "x*" matches
// by prefix, anything else exactly. A set pattern never matches "".
func globMatch(pattern, value string) bool {
	switch {
	case pattern == "":
		return true
	case value == "":
		return false
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(value, strings.TrimSuffix(pattern, "*"))
	default:
		return pattern == value
	}
}

// NamespaceOptions override Options for the destinations of one namespace.
// Nil fields inherit.
type NamespaceOptions struct {
	Mode        *Mode
	MinRequests *int64
	DryRun      *bool
	DefaultDeny *bool
	Plaintext   *PlaintextHandling
	// ExcludeWorkloads are workload names (or "prefix*") of this namespace
	// that get no policies.
	ExcludeWorkloads []string
}

// Options control synthesis. Build them with DefaultOptions and change what
// the user asked for.
type Options struct {
	// Mode forces the data plane of every in-mesh workload; ModeAuto reads it
	// from the inventory.
	Mode Mode
	// TrustDomain is the mesh's trust domain; "" takes it from the data, else
	// cluster.local.
	TrustDomain        string
	TrustDomainAliases []string
	// MinRequests is the least number of requests a (caller, destination) pair
	// needs to be admitted; pairs below it are listed for review.
	MinRequests int64
	// DryRun marks every AuthorizationPolicy with istio.io/dry-run.
	DryRun bool
	// DefaultDeny adds an allow-nothing policy to every namespace written.
	DefaultDeny  bool
	IstioVersion Version
	Plaintext    PlaintextHandling

	// Namespaces, when set, limits output to these destination namespaces.
	Namespaces        []string
	ExcludeNamespaces []string
	// ExcludeWorkloads are "namespace/workload" (workload may end in "*").
	ExcludeWorkloads []string
	// ExcludePrincipals are callers never admitted (a value may end in "*").
	ExcludePrincipals []string

	// PathSiblingThreshold and MaxPathsPerRule tune path generalisation; 0
	// keeps the defaults of package paths.
	PathSiblingThreshold int
	PathFanoutThreshold  int
	MaxPathsPerRule      int

	// Scrapers recognise Prometheus-like callers; Gateways ingress gateways.
	// Empty lists take the defaults (DefaultScrapers, DefaultGateways).
	Scrapers []Matcher
	Gateways []Matcher
	// IncludeControlPlane writes policies for control-plane workloads outside
	// the root namespace (istiod). Policies are never written into the root
	// namespace, where they would apply to the whole mesh.
	IncludeControlPlane bool
	// IncludeGateways writes policies for ingress gateway and waypoint
	// workloads as destinations.
	IncludeGateways bool
	// RootNamespace is Istio's root namespace; "" means istio-system.
	RootNamespace string

	// PerNamespace holds overrides by destination namespace.
	PerNamespace map[string]NamespaceOptions
}

// DefaultScrapers recognise workloads named prometheus* in any namespace.
var DefaultScrapers = []Matcher{{Workload: "prometheus*"}}

// DefaultGateways recognise the classic Istio ingress gateway deployments;
// pods labelled as Gateway API or Istio gateways are recognised regardless.
var DefaultGateways = []Matcher{{Workload: "istio-ingressgateway*"}}

// DefaultOptions returns the options meshgen emit uses without flags.
func DefaultOptions() Options {
	return Options{
		Mode:          ModeAuto,
		MinRequests:   1,
		IstioVersion:  DefaultIstioVersion,
		Plaintext:     PlaintextNoAllow,
		RootNamespace: "istio-system",
	}
}

// Validate checks option values; errors name the option.
func (o *Options) Validate() error {
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	if _, err := ParsePlaintext(string(o.Plaintext)); err != nil {
		return fmt.Errorf("plaintext: %w", err)
	}
	if o.MinRequests < 0 {
		return fmt.Errorf("min-requests: %d is negative", o.MinRequests)
	}
	if o.IstioVersion.Major != 1 {
		return fmt.Errorf("istio-version: %s is not an Istio 1.x version", o.IstioVersion)
	}
	if o.TrustDomain != "" {
		if err := snapshot.ValidTrustDomain(o.TrustDomain); err != nil {
			return fmt.Errorf("trust-domain: %w", err)
		}
	}
	for _, a := range o.TrustDomainAliases {
		if err := snapshot.ValidTrustDomain(a); err != nil {
			return fmt.Errorf("trust-domain-alias: %w", err)
		}
	}
	if o.PathSiblingThreshold < 0 || o.PathFanoutThreshold < 0 || o.MaxPathsPerRule < 0 {
		return fmt.Errorf("path thresholds must not be negative")
	}
	for _, w := range o.ExcludeWorkloads {
		if ns, name, ok := strings.Cut(w, "/"); !ok || ns == "" || name == "" {
			return fmt.Errorf("exclude workloads: %q is not of the form namespace/workload", w)
		}
	}
	for _, p := range o.ExcludePrincipals {
		if p == "" || strings.HasPrefix(p, snapshot.SPIFFEPrefix) {
			return fmt.Errorf("exclude principals: %q must be a principal without %s", p, snapshot.SPIFFEPrefix)
		}
	}
	for ns, no := range o.PerNamespace {
		if no.Mode != nil {
			if _, err := ParseMode(string(*no.Mode)); err != nil {
				return fmt.Errorf("namespace %s: mode: %w", ns, err)
			}
		}
		if no.Plaintext != nil {
			if _, err := ParsePlaintext(string(*no.Plaintext)); err != nil {
				return fmt.Errorf("namespace %s: plaintext: %w", ns, err)
			}
		}
		if no.MinRequests != nil && *no.MinRequests < 0 {
			return fmt.Errorf("namespace %s: min-requests %d is negative", ns, *no.MinRequests)
		}
	}
	return nil
}

// nsOptions are the options in effect for one destination namespace.
type nsOptions struct {
	mode             Mode
	minRequests      int64
	dryRun           bool
	defaultDeny      bool
	plaintext        PlaintextHandling
	excludeWorkloads []string
}

func (o *Options) forNamespace(ns string) nsOptions {
	n := nsOptions{
		mode:        o.Mode,
		minRequests: o.MinRequests,
		dryRun:      o.DryRun,
		defaultDeny: o.DefaultDeny,
		plaintext:   o.Plaintext,
	}
	for _, w := range o.ExcludeWorkloads {
		if wns, name, _ := strings.Cut(w, "/"); wns == ns {
			n.excludeWorkloads = append(n.excludeWorkloads, name)
		}
	}
	po, ok := o.PerNamespace[ns]
	if !ok {
		return n
	}
	if po.Mode != nil {
		n.mode = *po.Mode
	}
	if po.MinRequests != nil {
		n.minRequests = *po.MinRequests
	}
	if po.DryRun != nil {
		n.dryRun = *po.DryRun
	}
	if po.DefaultDeny != nil {
		n.defaultDeny = *po.DefaultDeny
	}
	if po.Plaintext != nil {
		n.plaintext = *po.Plaintext
	}
	n.excludeWorkloads = append(n.excludeWorkloads, po.ExcludeWorkloads...)
	return n
}

func (n nsOptions) excludes(workload string) bool {
	return slices.ContainsFunc(n.excludeWorkloads, func(p string) bool { return globMatch(p, workload) })
}

func (o *Options) rootNamespace() string {
	if o.RootNamespace == "" {
		return "istio-system"
	}
	return o.RootNamespace
}

// namespaceSelected reports whether policies are written for ns, and if not why.
func (o *Options) namespaceSelected(ns string) (bool, Reason) {
	if len(o.Namespaces) > 0 && !slices.Contains(o.Namespaces, ns) {
		return false, ReasonNamespaceNotSelected
	}
	if slices.ContainsFunc(o.ExcludeNamespaces, func(p string) bool { return globMatch(p, ns) }) {
		return false, ReasonNamespaceExcluded
	}
	if ns == o.rootNamespace() {
		return false, ReasonRootNamespace
	}
	return true, ""
}

func (o *Options) principalExcluded(p string) bool {
	return slices.ContainsFunc(o.ExcludePrincipals, func(x string) bool { return globMatch(x, p) })
}
