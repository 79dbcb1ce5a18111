package diff

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	typeapi "istio.io/api/type/v1beta1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

const dryRunAnnotation = "istio.io/dry-run"

// reach is what a policy applies to within one namespace.
type reach struct {
	all      bool              // every workload of the namespace
	selector map[string]string // else: workloads with these labels
	refs     []*typeapi.PolicyTargetReference
}

func reachOf(o Object) reach {
	if ap := o.AuthorizationPolicy; ap != nil {
		refs := ap.Spec.GetTargetRefs()
		if len(refs) == 0 && ap.Spec.GetTargetRef() != nil {
			refs = []*typeapi.PolicyTargetReference{ap.Spec.GetTargetRef()}
		}
		if len(refs) > 0 {
			return reach{refs: refs}
		}
		sel := ap.Spec.GetSelector().GetMatchLabels()
		return reach{all: len(sel) == 0, selector: sel}
	}
	sel := o.PeerAuthentication.Spec.GetSelector().GetMatchLabels()
	return reach{all: len(sel) == 0, selector: sel}
}

// workloads lists the inventory workloads of ns the reach covers.
func (r reach) workloads(ns string, idx *snapshot.Index) map[string]bool {
	out := map[string]bool{}
	inv := idx.Inventory()
	if len(r.refs) > 0 {
		for _, ref := range r.refs {
			refNS := ref.GetNamespace()
			if refNS != "" && refNS != ns {
				continue
			}
			switch ref.GetKind() {
			case "Service":
				for _, w := range idx.WorkloadsOfService(ns, ref.GetName()) {
					out[w.Name] = true
				}
			case "Gateway":
				for _, s := range inv.Services {
					if s.Namespace != ns {
						continue
					}
					if wp, ok := idx.ServiceWaypoint(ns, s.Name); ok && wp.Name == ref.GetName() {
						for _, w := range idx.WorkloadsOfService(ns, s.Name) {
							out[w.Name] = true
						}
					}
				}
			}
		}
		return out
	}
	for _, w := range idx.WorkloadsIn(ns) {
		if r.all || labelsSubset(r.selector, w.Labels) {
			out[w.Name] = true
		}
	}
	return out
}

func labelsSubset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// mayOverlap decides without an inventory whether two reaches can cover the
// same workload: a namespace-wide one covers everything; two selectors can
// unless they require different values of one label; targetRefs overlap
// when they name the same object.
func mayOverlap(a, b reach) bool {
	if len(a.refs) > 0 || len(b.refs) > 0 {
		if len(a.refs) == 0 || len(b.refs) == 0 {
			return false
		}
		for _, x := range a.refs {
			for _, y := range b.refs {
				if x.GetKind() == y.GetKind() && x.GetName() == y.GetName() {
					return true
				}
			}
		}
		return false
	}
	if a.all || b.all {
		return true
	}
	for k, v := range a.selector {
		if w, ok := b.selector[k]; ok && w != v {
			return false
		}
	}
	return true
}

// unmanagedFor lists the deployed policies meshgen does not manage (of ns
// and of the root namespace) that apply to workloads meshgen's proposed
// policies in ns apply to.
func unmanagedFor(ns, root string, kept []Object, proposed map[objKey]Object, idx *snapshot.Index) []Unmanaged {
	var targets []reach
	for _, k := range sortedKeys(proposed) {
		if o := proposed[k]; k.ns == ns && o.Managed() {
			targets = append(targets, reachOf(o))
		}
	}
	out := []Unmanaged{}
	if len(targets) == 0 {
		return out
	}
	useInventory := idx != nil && len(reach{all: true}.workloads(ns, idx)) > 0
	var covered map[string]bool
	if useInventory {
		covered = map[string]bool{}
		for _, t := range targets {
			maps.Copy(covered, t.workloads(ns, idx))
		}
	}
	for _, o := range kept {
		m := o.Meta()
		if o.Managed() || (m.Namespace != ns && m.Namespace != root) {
			continue
		}
		r := reachOf(o)
		meshWide := m.Namespace == root && m.Namespace != ns
		if meshWide && len(r.refs) > 0 {
			continue // targetRefs in the root namespace attach to objects there
		}
		if meshWide && o.PeerAuthentication != nil && !r.all {
			continue // Istio ignores root-namespace PeerAuthentications with a selector
		}
		u := Unmanaged{Kind: o.Kind(), Namespace: m.Namespace, Name: m.Name, Source: o.Source}
		switch {
		case useInventory:
			hit := r.workloads(ns, idx)
			var ws []string
			for w := range hit {
				if covered[w] {
					ws = append(ws, w)
				}
			}
			if len(ws) == 0 {
				continue
			}
			slices.Sort(ws)
			u.Workloads = ws
			u.Scope = scopeText(r, meshWide) + ": applies to " + strings.Join(ws, ", ")
		default:
			if !slices.ContainsFunc(targets, func(t reach) bool { return mayOverlap(r, t) }) {
				continue
			}
			u.Scope = scopeText(r, meshWide)
			if !r.all {
				u.Scope += ": may apply to the same workloads (no inventory to tell; give --observations)"
			}
		}
		u.Action, u.Why = explain(o)
		if v, ok := m.Annotations[dryRunAnnotation]; ok {
			if b, _ := strconv.ParseBool(v); b && o.AuthorizationPolicy != nil {
				u.DryRun = true
				u.Why += " It is marked istio.io/dry-run: evaluated and logged, not enforced."
			}
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Unmanaged) int {
		return strings.Compare(a.Namespace+"/"+a.Kind+"/"+a.Name, b.Namespace+"/"+b.Kind+"/"+b.Name)
	})
	return out
}

func scopeText(r reach, meshWide bool) string {
	switch {
	case meshWide && r.all:
		return "mesh-wide (root namespace)"
	case meshWide:
		return "mesh-wide by selector " + selectorText(r.selector) + " (root namespace)"
	case len(r.refs) > 0:
		var names []string
		for _, ref := range r.refs {
			names = append(names, ref.GetKind()+" "+ref.GetName())
		}
		return "waypoint policy for " + strings.Join(names, ", ")
	case r.all:
		return "namespace-wide"
	}
	return "selector " + selectorText(r.selector)
}

func selectorText(sel map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// explain returns the action (or mTLS mode) and how Istio combines the
// policy with meshgen's.
func explain(o Object) (action, why string) {
	if pa := o.PeerAuthentication; pa != nil {
		mode := pa.Spec.GetMtls().GetMode().String()
		return mode, "A PeerAuthentication (mTLS " + mode + ") decides whether plaintext reaches these workloads before any AuthorizationPolicy is evaluated."
	}
	action = o.AuthorizationPolicy.Spec.GetAction().String()
	switch action {
	case "DENY":
		why = "A DENY policy is evaluated before every ALLOW policy: what it matches is denied whatever meshgen's policies allow."
	case "ALLOW":
		why = "Another ALLOW policy: Istio allows a request that any ALLOW policy matches, so it widens what meshgen's policies allow."
	case "CUSTOM":
		why = "A CUSTOM policy sends what it matches to an external authorizer, before DENY and ALLOW policies are evaluated."
	case "AUDIT":
		why = "An AUDIT policy only marks requests for logging; it does not change access."
	default:
		why = "Istio evaluates it together with meshgen's policies."
	}
	return action, why
}
