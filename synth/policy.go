package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations meshgen writes.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	ManagedByValue   = "meshgen"
	AnnotationDryRun = "istio.io/dry-run"
)

// Limits from the AuthorizationPolicy CRD.
const (
	maxRules = 512
)

// apiVersions returns the apiVersion for AuthorizationPolicy and
// PeerAuthentication for the target Istio version: v1 is served for
// AuthorizationPolicy since 1.17 and for PeerAuthentication since 1.22.
func (s *synthesizer) apiVersion(kind string) string {
	v := s.opts.IstioVersion
	if (kind == "AuthorizationPolicy" && v.AtLeast(1, 17)) || (kind == "PeerAuthentication" && v.AtLeast(1, 22)) {
		return "security.istio.io/v1"
	}
	return "security.istio.io/v1beta1"
}

func (s *synthesizer) objectMeta(ns string, dryRun bool) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Namespace: ns, Labels: map[string]string{LabelManagedBy: ManagedByValue}}
	if dryRun {
		m.Annotations = map[string]string{AnnotationDryRun: "true"}
	}
	return m
}

func (s *synthesizer) newAuthorizationPolicy(ns string, dryRun bool) *securityv1.AuthorizationPolicy {
	ap := &securityv1.AuthorizationPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: s.apiVersion("AuthorizationPolicy"), Kind: "AuthorizationPolicy"},
		ObjectMeta: s.objectMeta(ns, dryRun),
	}
	ap.Spec.Action = securityv1beta1.AuthorizationPolicy_ALLOW
	return ap
}

func (s *synthesizer) newPeerAuthentication(ns string) *securityv1.PeerAuthentication {
	return &securityv1.PeerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: s.apiVersion("PeerAuthentication"), Kind: "PeerAuthentication"},
		ObjectMeta: s.objectMeta(ns, false),
	}
}

func selector(labels map[string]string) *typev1beta1.WorkloadSelector {
	return &typev1beta1.WorkloadSelector{MatchLabels: maps.Clone(labels)}
}

// allowPolicies turns rules into ALLOW policies for one target, split into
// several policies when the CRD's rule limit is reached (rather than widening).
// setTarget sets the selector or targetRefs of each.
func (s *synthesizer) allowPolicies(d *dest, role Role, service, base string, rules []*rule, comments []string, setTarget func(*securityv1.AuthorizationPolicy)) ([]*Policy, error) {
	var out []*Policy
	for start, part := 0, 1; start < len(rules); start, part = start+maxRules, part+1 {
		chunk := rules[start:min(start+maxRules, len(rules))]
		ap := s.newAuthorizationPolicy(d.ns, d.nso.dryRun)
		setTarget(ap)
		p := &Policy{Role: role, AuthorizationPolicy: ap, Workload: d.name, Service: service, Comments: comments}
		p.nameBase, p.nameID = base, string(role)+"/"+base
		if part > 1 {
			p.nameBase = fmt.Sprintf("%s-%d", base, part)
			p.nameID = fmt.Sprintf("%s/%s#%d", role, base, part)
		}
		for _, r := range chunk {
			if err := checkRule(r); err != nil {
				return nil, fmt.Errorf("policy for %s: %w", d.id(), err)
			}
			ap.Spec.Rules = append(ap.Spec.Rules, r.proto())
			p.Rules = append(p.Rules, RuleEvidence{Sources: r.sources, Notes: r.notes})
		}
		out = append(out, p)
	}
	if len(out) > 1 {
		s.warn(CodeSplit, d.ns, d.name, fmt.Sprintf("%d rules exceed the limit of %d per policy: split into %d policies", len(rules), maxRules, len(out)))
	}
	return out, nil
}

// checkRule enforces the safety invariants on one rule; a violation is a bug
// in meshgen, reported as an error rather than written.
func checkRule(r *rule) error {
	if len(r.principals) == 0 && len(r.ops) == 0 {
		return fmt.Errorf("internal error: empty rule (it would allow everything)")
	}
	for _, p := range r.principals {
		if p == "" || p == "unknown" || strings.Contains(p, "*") || strings.HasPrefix(p, "spiffe://") {
			return fmt.Errorf("internal error: principal %q may not be written", p)
		}
	}
	for _, o := range r.ops {
		if len(o.ports) == 0 && len(o.methods) == 0 && len(o.paths) == 0 {
			return fmt.Errorf("internal error: empty operation")
		}
		for _, v := range append(append([]string{}, o.methods...), o.paths...) {
			if v == "" {
				return fmt.Errorf("internal error: empty value in an operation")
			}
		}
		for _, p := range o.ports {
			if p <= 0 || p > 65535 {
				return fmt.Errorf("internal error: port %d out of range", p)
			}
		}
	}
	return nil
}

// assignNames gives the policies of one namespace unique, deterministic
// DNS-1123 names: the preferred name when only one policy of its kind wants
// it, else the name with a short hash of the policy's identity. It does not
// depend on the order of policies.
func assignNames(pols []*Policy) {
	byKindName := map[string][]*Policy{}
	for _, p := range pols {
		k := p.Kind() + "/" + dnsLabel(p.nameBase)
		byKindName[k] = append(byKindName[k], p)
	}
	for _, group := range byKindName {
		reserved := slices.ContainsFunc(group, func(p *Policy) bool { return p.reservedName })
		for _, p := range group {
			name := dnsLabel(p.nameBase)
			// A namespace policy keeps its conventional name; the workload
			// policies that want it get a hash.
			if len(group) > 1 && !(reserved && p.reservedName) {
				name = withHash(name, p.nameID)
			}
			setName(p, name)
		}
	}
}

func setName(p *Policy, name string) {
	if p.PeerAuthentication != nil {
		p.PeerAuthentication.Name = name
		return
	}
	p.AuthorizationPolicy.Name = name
}

// dnsLabel turns s into a DNS-1123 label of at most 63 characters; a name
// that had to be shortened gets a hash suffix so that it stays unique.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "policy"
	}
	if len(out) > 63 {
		return withHash(out, s)
	}
	return out
}

// withHash appends "-" and 8 hex digits of the hash of id, shortening name so
// that the result has at most 63 characters.
func withHash(name, id string) string {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:4])
	if len(name) > 63-9 {
		name = strings.TrimRight(name[:63-9], "-")
	}
	return name + "-" + h
}
