package synth

import (
	"github.com/meshgen/meshgen/synth/eval"
)

// PolicySet returns the result's policies as an evaluator policy set, for
// replaying traffic against them (check, diff and the property tests).
func (r *Result) PolicySet() *eval.PolicySet {
	ps := &eval.PolicySet{RootNamespace: r.Options.rootNamespace(), TrustDomain: r.TrustDomain, TrustDomainAliases: r.Options.TrustDomainAliases}
	for _, n := range r.Namespaces {
		for _, p := range n.Policies {
			switch {
			case p.AuthorizationPolicy != nil:
				ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, p.AuthorizationPolicy)
			case p.PeerAuthentication != nil:
				ps.PeerAuthentications = append(ps.PeerAuthentications, p.PeerAuthentication)
			}
		}
	}
	return ps
}
