// Package config reads meshgen.yaml, the file in a policy repository that
// holds the defaults, per-namespace overrides and exclusions of meshgen emit,
// so that a CI job and a person get the same result.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/synth"
)

// FileName is the name of the configuration file in a policy repository.
const FileName = "meshgen.yaml"

// APIVersion and Kind identify the file; both are optional, but when given
// they must be these.
const (
	APIVersion = "meshgen.dev/v1alpha1"
	Kind       = "Config"
)

// File is the content of meshgen.yaml.
type File struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// Emit holds defaults for the flags of meshgen emit.
	Emit Emit `yaml:"emit"`
	// Namespaces override settings for destinations in one namespace.
	Namespaces map[string]Namespace `yaml:"namespaces"`
	Exclude    Exclude              `yaml:"exclude"`
	// Scrapers and Gateways recognise infrastructure callers; empty lists
	// keep meshgen's defaults.
	Scrapers []synth.Matcher `yaml:"scrapers"`
	Gateways []synth.Matcher `yaml:"gateways"`
}

// Emit holds defaults for meshgen emit's flags. Unset fields keep meshgen's
// defaults; flags given on the command line win.
type Emit struct {
	Mode                 *Mode      `yaml:"mode"`
	TrustDomain          *string    `yaml:"trustDomain"`
	TrustDomainAliases   []string   `yaml:"trustDomainAliases"`
	MinRequests          *int64     `yaml:"minRequests"`
	DryRun               *bool      `yaml:"dryRun"`
	DefaultDeny          *bool      `yaml:"defaultDeny"`
	IstioVersion         *Version   `yaml:"istioVersion"`
	Plaintext            *Plaintext `yaml:"plaintext"`
	OnlyNamespaces       []string   `yaml:"onlyNamespaces"`
	PathSiblingThreshold *int       `yaml:"pathSiblingThreshold"`
	PathFanoutThreshold  *int       `yaml:"pathFanoutThreshold"`
	MaxPathsPerRule      *int       `yaml:"maxPathsPerRule"`
	RootNamespace        *string    `yaml:"rootNamespace"`
	IncludeControlPlane  *bool      `yaml:"includeControlPlane"`
	IncludeGateways      *bool      `yaml:"includeGateways"`
}

// Namespace overrides settings for the destinations of one namespace.
type Namespace struct {
	Mode             *Mode      `yaml:"mode"`
	MinRequests      *int64     `yaml:"minRequests"`
	DryRun           *bool      `yaml:"dryRun"`
	DefaultDeny      *bool      `yaml:"defaultDeny"`
	Plaintext        *Plaintext `yaml:"plaintext"`
	ExcludeWorkloads []string   `yaml:"excludeWorkloads"`
}

// Exclude lists what never gets policies or rules.
type Exclude struct {
	Namespaces []string `yaml:"namespaces"`
	// Workloads are "namespace/workload"; the workload may end in "*".
	Workloads []string `yaml:"workloads"`
	// Principals are callers never admitted; a value may end in "*".
	Principals []string `yaml:"principals"`
}

// Mode is a --mode value checked while decoding.
type Mode synth.Mode

// UnmarshalYAML checks the value and names its line when it is wrong.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error {
	v, err := synth.ParseMode(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*m = Mode(v)
	return nil
}

// Plaintext is a --plaintext value checked while decoding.
type Plaintext synth.PlaintextHandling

// UnmarshalYAML checks the value and names its line when it is wrong.
func (p *Plaintext) UnmarshalYAML(n *yaml.Node) error {
	v, err := synth.ParsePlaintext(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = Plaintext(v)
	return nil
}

// Version is an --istio-version value checked while decoding.
type Version synth.Version

// UnmarshalYAML checks the value and names its line when it is wrong.
func (v *Version) UnmarshalYAML(n *yaml.Node) error {
	p, err := synth.ParseVersion(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*v = Version(p)
	return nil
}

// Load reads a configuration file. Errors are bad input and name the file
// and line.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, badinput.Errorf("reading config %s: %w", path, err)
		}
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, badinput.Errorf("reading config %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes a configuration strictly: unknown keys, wrong types and bad
// values are errors that name the line.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	f := &File{}
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file
		}
		return nil, cleanError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("only one YAML document is allowed")
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// cleanError drops yaml's "yaml: unmarshal errors:" prefix, keeping the
// line-numbered messages.
func cleanError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
	return errors.New(msg)
}

func (f *File) validate() error {
	if f.APIVersion != "" && f.APIVersion != APIVersion {
		return fmt.Errorf("apiVersion %q is not %s", f.APIVersion, APIVersion)
	}
	if f.Kind != "" && f.Kind != Kind {
		return fmt.Errorf("kind %q is not %s", f.Kind, Kind)
	}
	opts := synth.DefaultOptions()
	f.Apply(&opts)
	if err := opts.Validate(); err != nil {
		return err
	}
	return nil
}

// Apply sets the file's settings on opts. Call it on defaults before the
// flags the user gave.
func (f *File) Apply(opts *synth.Options) {
	e := f.Emit
	if e.Mode != nil {
		opts.Mode = synth.Mode(*e.Mode)
	}
	if e.TrustDomain != nil {
		opts.TrustDomain = *e.TrustDomain
	}
	if len(e.TrustDomainAliases) > 0 {
		opts.TrustDomainAliases = append([]string(nil), e.TrustDomainAliases...)
	}
	setIf(&opts.MinRequests, e.MinRequests)
	setIf(&opts.DryRun, e.DryRun)
	setIf(&opts.DefaultDeny, e.DefaultDeny)
	if e.IstioVersion != nil {
		opts.IstioVersion = synth.Version(*e.IstioVersion)
	}
	if e.Plaintext != nil {
		opts.Plaintext = synth.PlaintextHandling(*e.Plaintext)
	}
	if len(e.OnlyNamespaces) > 0 {
		opts.Namespaces = append([]string(nil), e.OnlyNamespaces...)
	}
	setIf(&opts.PathSiblingThreshold, e.PathSiblingThreshold)
	setIf(&opts.PathFanoutThreshold, e.PathFanoutThreshold)
	setIf(&opts.MaxPathsPerRule, e.MaxPathsPerRule)
	setIf(&opts.RootNamespace, e.RootNamespace)
	setIf(&opts.IncludeControlPlane, e.IncludeControlPlane)
	setIf(&opts.IncludeGateways, e.IncludeGateways)
	opts.ExcludeNamespaces = append(opts.ExcludeNamespaces, f.Exclude.Namespaces...)
	opts.ExcludeWorkloads = append(opts.ExcludeWorkloads, f.Exclude.Workloads...)
	opts.ExcludePrincipals = append(opts.ExcludePrincipals, f.Exclude.Principals...)
	if len(f.Scrapers) > 0 {
		opts.Scrapers = append([]synth.Matcher(nil), f.Scrapers...)
	}
	if len(f.Gateways) > 0 {
		opts.Gateways = append([]synth.Matcher(nil), f.Gateways...)
	}
	for name, n := range f.Namespaces {
		if opts.PerNamespace == nil {
			opts.PerNamespace = map[string]synth.NamespaceOptions{}
		}
		no := synth.NamespaceOptions{
			MinRequests:      n.MinRequests,
			DryRun:           n.DryRun,
			DefaultDeny:      n.DefaultDeny,
			ExcludeWorkloads: append([]string(nil), n.ExcludeWorkloads...),
		}
		if n.Mode != nil {
			m := synth.Mode(*n.Mode)
			no.Mode = &m
		}
		if n.Plaintext != nil {
			p := synth.PlaintextHandling(*n.Plaintext)
			no.Plaintext = &p
		}
		opts.PerNamespace[name] = no
	}
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
