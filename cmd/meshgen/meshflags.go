package main

import (
	"github.com/spf13/pflag"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth/eval"
)

// meshFlags are the MeshConfig settings that decide how policies are
// evaluated: check and diff share them.
type meshFlags struct {
	rootNamespace string
	trustDomain   string
	aliases       []string
}

func (m *meshFlags) addFlags(f *pflag.FlagSet) {
	m.rootNamespace = eval.DefaultRootNamespace
	f.StringVar(&m.rootNamespace, "root-namespace", m.rootNamespace, "the mesh root namespace (MeshConfig rootNamespace): its policies apply mesh-wide")
	f.StringVar(&m.trustDomain, "trust-domain", "", "the mesh trust domain (default: the single trust domain of the observed principals, else cluster.local)")
	f.StringArrayVar(&m.aliases, "trust-domain-alias", nil, "a trust domain alias of the mesh (MeshConfig trustDomainAliases; repeatable): sidecars and waypoints match policy principals of the trust domain and its aliases alike")
}

func (m *meshFlags) validate() error {
	if m.rootNamespace == "" {
		return usageErrorf("--root-namespace must not be empty")
	}
	if m.trustDomain != "" {
		if err := snapshot.ValidTrustDomain(m.trustDomain); err != nil {
			return usageErrorf("--trust-domain: %w", err)
		}
	}
	for _, a := range m.aliases {
		if err := snapshot.ValidTrustDomain(a); err != nil {
			return usageErrorf("--trust-domain-alias: %w", err)
		}
	}
	return nil
}

// resolvedTrustDomain is --trust-domain, else the single trust domain of the
// snapshot's principals (snap may be nil), else cluster.local.
func (m *meshFlags) resolvedTrustDomain(snap *snapshot.Snapshot) string {
	if m.trustDomain != "" {
		return m.trustDomain
	}
	if snap != nil && len(snap.Metadata.TrustDomains) == 1 {
		return snap.Metadata.TrustDomains[0]
	}
	return eval.DefaultTrustDomain
}

// apply sets the mesh settings on policy sets.
func (m *meshFlags) apply(td string, sets ...*eval.PolicySet) {
	for _, ps := range sets {
		if ps != nil {
			ps.RootNamespace, ps.TrustDomain, ps.TrustDomainAliases = m.rootNamespace, td, m.aliases
		}
	}
}
