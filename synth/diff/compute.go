package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshgen/meshgen/observe/badinput"
	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/policyset"
)

// Object is one policy of either side, with where it came from.
type Object struct {
	// Exactly one is set.
	AuthorizationPolicy *securityv1.AuthorizationPolicy
	PeerAuthentication  *securityv1.PeerAuthentication
	// Source is "file:line" or "cluster".
	Source string
}

// Meta returns the object's metadata.
func (o Object) Meta() *metav1.ObjectMeta {
	if o.AuthorizationPolicy != nil {
		return &o.AuthorizationPolicy.ObjectMeta
	}
	return &o.PeerAuthentication.ObjectMeta
}

// Kind returns AuthorizationPolicy or PeerAuthentication.
func (o Object) Kind() string {
	if o.AuthorizationPolicy != nil {
		return policyset.KindAuthorizationPolicy
	}
	return policyset.KindPeerAuthentication
}

func (o Object) key() objKey {
	m := o.Meta()
	return objKey{o.Kind(), m.Namespace, m.Name}
}

func (o Object) value() any {
	if o.AuthorizationPolicy != nil {
		return o.AuthorizationPolicy
	}
	return o.PeerAuthentication
}

// Managed reports whether the object carries meshgen's label.
func (o Object) Managed() bool { return o.Meta().Labels[synth.LabelManagedBy] == synth.ManagedByValue }

type objKey struct{ kind, ns, name string }

// FromFiles converts the objects policyset.LoadDir returns (skipped
// documents are left out).
func FromFiles(objs []policyset.Object) []Object {
	var out []Object
	for _, o := range objs {
		switch {
		case o.AuthorizationPolicy != nil:
			out = append(out, Object{AuthorizationPolicy: o.AuthorizationPolicy, Source: o.Location()})
		case o.PeerAuthentication != nil:
			out = append(out, Object{PeerAuthentication: o.PeerAuthentication, Source: o.Location()})
		}
	}
	return out
}

// FromSet converts a policy set (e.g. from policyset.FromCluster); every
// object gets source.
func FromSet(ps *eval.PolicySet, source string) []Object {
	var out []Object
	for _, ap := range ps.AuthorizationPolicies {
		out = append(out, Object{AuthorizationPolicy: ap, Source: source})
	}
	for _, pa := range ps.PeerAuthentications {
		out = append(out, Object{PeerAuthentication: pa, Source: source})
	}
	return out
}

// Input is what Compute compares.
type Input struct {
	// Proposed are the objects of --policies; Deployed those of the cluster
	// or of --against, for at least the namespaces compared and the root
	// namespace.
	Proposed, Deployed         []Object
	ProposedName, DeployedName string
	// Namespaces, when set, are the namespaces compared; otherwise those of
	// the proposed objects, plus (with AllManaged) those where a deployed
	// object carries meshgen's label.
	Namespaces []string
	AllManaged bool
	// RootNamespace "" means istio-system; TrustDomain "" means the single
	// trust domain of the snapshot, else cluster.local.
	RootNamespace, TrustDomain string
	// TrustDomainAliases are the mesh's trust domain aliases.
	TrustDomainAliases []string
	// Snapshot, when set, gives the traffic for the access changes.
	Snapshot         *snapshot.Snapshot
	ObservationsName string
	// MaxCombinations bounds the (caller, operation) combinations of the
	// access computation over all namespaces (0:
	// eval.DefaultMaxCombinations); MaxDecisions its replays, one per class
	// of callers, class of operations and side (0: eval.DefaultMaxDecisions,
	// see eval.DecideClasses); MaxChanges the entries it lists, changed
	// combinations and pairs of the graph (0: DefaultMaxChanges). Above any
	// of them access changes are skipped and the report says so.
	MaxCombinations int
	MaxDecisions    int
	MaxChanges      int
}

// DefaultMaxChanges is the default bound on the entries the access changes
// list.
const DefaultMaxChanges = 1_000_000

// Compute compares the proposed objects with the deployed ones.
func Compute(in Input) (*Report, error) {
	root := cmp.Or(in.RootNamespace, eval.DefaultRootNamespace)
	td := in.TrustDomain
	if td == "" {
		td = eval.DefaultTrustDomain
		if in.Snapshot != nil && len(in.Snapshot.Metadata.TrustDomains) == 1 {
			td = in.Snapshot.Metadata.TrustDomains[0]
		}
	}
	for _, o := range in.Proposed {
		if o.Meta().Namespace == "" {
			return nil, badinput.Errorf("%s: %s %s has no metadata.namespace", o.Source, o.Kind(), o.Meta().Name)
		}
	}
	scope := scopeOf(in)
	rep := &Report{
		APIVersion:    snapshot.APIVersion,
		Kind:          "DiffReport",
		Proposed:      in.ProposedName,
		Deployed:      in.DeployedName,
		Observations:  in.ObservationsName,
		TrustDomain:   td,
		RootNamespace: root,
		Namespaces:    []Namespace{},
	}
	byNS := map[string]*Namespace{}
	for _, ns := range scope {
		rep.Namespaces = append(rep.Namespaces, Namespace{Name: ns, Objects: []ObjectDiff{}, Unmanaged: []Unmanaged{}})
	}
	for i := range rep.Namespaces {
		byNS[rep.Namespaces[i].Name] = &rep.Namespaces[i]
	}
	inScope := func(ns string) bool { return byNS[ns] != nil }

	proposed := map[objKey]Object{}
	for _, o := range in.Proposed {
		if inScope(o.Meta().Namespace) {
			proposed[o.key()] = o
		}
	}
	deployed := map[objKey]Object{}
	for _, o := range in.Deployed {
		deployed[o.key()] = o
	}
	if err := diffObjects(proposed, deployed, inScope, byNS); err != nil {
		return nil, err
	}

	// The two policy sets as Istio would combine them: the proposed one is
	// the deployed one with meshgen's objects of the compared namespaces
	// (and any object a proposed one replaces) swapped for the proposed.
	before := &eval.PolicySet{RootNamespace: root, TrustDomain: td, TrustDomainAliases: in.TrustDomainAliases}
	after := &eval.PolicySet{RootNamespace: root, TrustDomain: td, TrustDomainAliases: in.TrustDomainAliases}
	var kept []Object
	for _, o := range in.Deployed {
		add(before, o)
		_, replaced := proposed[o.key()]
		if replaced || (inScope(o.Meta().Namespace) && o.Managed()) {
			continue
		}
		add(after, o)
		kept = append(kept, o)
	}
	for _, k := range sortedKeys(proposed) {
		add(after, proposed[k])
	}

	var idx *snapshot.Index
	if in.Snapshot != nil {
		idx = snapshot.NewIndex(&in.Snapshot.Inventory)
	}
	for _, ns := range scope {
		n := byNS[ns]
		n.Unmanaged = unmanagedFor(ns, root, kept, proposed, idx)
	}
	if in.Snapshot == nil {
		rep.Summary.AccessSkipped = "no --observations: the access changes are computed over observed traffic"
	} else {
		computeAccess(rep, in, before, after, idx, td)
	}
	summarize(rep)
	return rep, nil
}

func add(ps *eval.PolicySet, o Object) {
	if o.AuthorizationPolicy != nil {
		ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, o.AuthorizationPolicy)
	} else {
		ps.PeerAuthentications = append(ps.PeerAuthentications, o.PeerAuthentication)
	}
}

func sortedKeys(m map[objKey]Object) []objKey {
	keys := make([]objKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

func compareKeys(a, b objKey) int {
	return cmp.Or(strings.Compare(a.ns, b.ns), strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name))
}

// scopeOf lists the namespaces compared.
func scopeOf(in Input) []string {
	set := map[string]bool{}
	if len(in.Namespaces) > 0 {
		for _, ns := range in.Namespaces {
			set[ns] = true
		}
	} else {
		for _, o := range in.Proposed {
			set[o.Meta().Namespace] = true
		}
		if in.AllManaged {
			for _, o := range in.Deployed {
				if o.Managed() {
					set[o.Meta().Namespace] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// diffObjects fills each namespace's object differences.
func diffObjects(proposed, deployed map[objKey]Object, inScope func(string) bool, byNS map[string]*Namespace) error {
	keys := map[objKey]bool{}
	for k := range proposed {
		keys[k] = true
	}
	for k, o := range deployed {
		if inScope(k.ns) && o.Managed() {
			keys[k] = true
		}
	}
	sorted := make([]objKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, compareKeys)
	for _, k := range sorted {
		p, hasP := proposed[k]
		d, hasD := deployed[k]
		var pc, dc []byte
		var err error
		if hasP {
			if pc, err = Canonical(p.value()); err != nil {
				return badinput.Errorf("%s: %w", p.Source, err)
			}
		}
		if hasD {
			if dc, err = Canonical(d.value()); err != nil {
				return fmt.Errorf("%s: %w", d.Source, err)
			}
		}
		n := byNS[k.ns]
		od := ObjectDiff{Kind: k.kind, Namespace: k.ns, Name: k.name}
		switch {
		case hasP && hasD && string(pc) == string(dc):
			n.Unchanged++
			continue
		case hasP && hasD:
			od.Change = Changed
		case hasP:
			od.Change = Added
		default:
			od.Change = Removed
		}
		if hasP {
			od.ProposedSource = p.Source
		}
		if hasD {
			od.DeployedSource = d.Source
			od.DeployedUnmanaged = !d.Managed()
		}
		name := strings.ToLower(k.kind) + "/" + k.ns + "/" + k.name
		od.Diff = Unified("deployed/"+name, "proposed/"+name, string(dc), string(pc), 3)
		n.Objects = append(n.Objects, od)
	}
	return nil
}

func summarize(rep *Report) {
	s := &rep.Summary
	s.Namespaces = len(rep.Namespaces)
	for _, n := range rep.Namespaces {
		for _, o := range n.Objects {
			switch o.Change {
			case Added:
				s.Added++
			case Removed:
				s.Removed++
			case Changed:
				s.Changed++
			}
		}
		s.Unchanged += n.Unchanged
		s.Unmanaged += len(n.Unmanaged)
		if n.Access == nil {
			continue
		}
		for _, c := range n.Access.Gained {
			s.Gained += len(c.Operations)
		}
		for _, c := range n.Access.Uncertain {
			s.Uncertain += len(c.Operations)
		}
		for _, c := range n.Access.Lost {
			s.Lost += len(c.Operations)
			for _, o := range c.Operations {
				if o.Requests > 0 {
					s.LostObserved++
					s.BreakingRequests += o.Requests
				}
			}
		}
	}
}
