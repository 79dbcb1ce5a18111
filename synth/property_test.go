package synth_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	securityv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"

	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/paths"
	"github.com/meshgen/meshgen/synth/render"
)

// propertyIterations keeps the property tests well under 20 s on two cores.
const propertyIterations = 1500

// TestPropertySafety synthesizes random snapshots and checks every safety
// rule of DEVELOPERS.md on the output, and that replaying the snapshot
// against the output denies nothing that was observed, allowed and included.
func TestPropertySafety(t *testing.T) {
	for seed := range uint64(propertyIterations) {
		r := rand.New(rand.NewPCG(seed, 0x6d657368))
		g := defaultGen
		if seed%4 == 3 {
			g = genConfig{maxNamespaces: 4, maxWorkloads: 6, maxEdges: 120}
		}
		snap := randomSnapshot(r, g)
		opts := randomOptions(r)
		res, err := synth.Synthesize(snap, opts)
		if err != nil {
			t.Fatalf("seed %d: Synthesize() error: %v", seed, err)
		}
		for _, v := range checkSafety(snap, res) {
			t.Errorf("seed %d: %s", seed, v)
		}
		for _, v := range checkReplay(snap, res) {
			t.Errorf("seed %d: %s", seed, v)
		}
		if t.Failed() {
			b, _ := render.Stream(res, render.Options{Comments: true})
			t.Logf("seed %d options %+v\noutput:\n%s", seed, opts, b)
			t.FailNow()
		}
	}
}

// TestPropertyDeterminism checks that the same snapshot with its edges in
// another order gives the same bytes and the same summary.
func TestPropertyDeterminism(t *testing.T) {
	for seed := range uint64(propertyIterations / 4) {
		r := rand.New(rand.NewPCG(seed, 0x64657465))
		snap := randomSnapshot(r, defaultGen)
		opts := randomOptions(r)
		want, wantSum := emitBytes(t, snap, opts)
		shuffled := *snap
		shuffled.Edges = slices.Clone(snap.Edges)
		r.Shuffle(len(shuffled.Edges), func(i, j int) { shuffled.Edges[i], shuffled.Edges[j] = shuffled.Edges[j], shuffled.Edges[i] })
		// Split one edge in two halves: the snapshot merges them back.
		if len(shuffled.Edges) > 0 && shuffled.Edges[0].Counts.Requests%2 == 0 && shuffled.Edges[0].Counts == (snapshot.Counts{Requests: shuffled.Edges[0].Counts.Requests, MTLS: shuffled.Edges[0].Counts.Requests}) {
			half := shuffled.Edges[0]
			half.Counts = snapshot.Counts{Requests: half.Counts.Requests / 2, MTLS: half.Counts.Requests / 2}
			shuffled.Edges[0] = half
			shuffled.Edges = append(shuffled.Edges, half)
		}
		got, gotSum := emitBytes(t, &shuffled, opts)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: output differs after shuffling edges:\nwant:\n%s\ngot:\n%s", seed, want, got)
		}
		if gotSum != wantSum {
			t.Fatalf("seed %d: summary differs after shuffling edges:\nwant:\n%s\ngot:\n%s", seed, wantSum, gotSum)
		}
	}
}

func emitBytes(t *testing.T, snap *snapshot.Snapshot, opts synth.Options) ([]byte, string) {
	t.Helper()
	res, err := synth.Synthesize(snap, opts)
	if err != nil {
		t.Fatalf("Synthesize() error: %v", err)
	}
	b, err := render.Stream(res, render.Options{Comments: true, Command: "meshgen emit"})
	if err != nil {
		t.Fatalf("render.Stream() error: %v", err)
	}
	var sum bytes.Buffer
	if err := render.Summary(&sum, res); err != nil {
		t.Fatalf("render.Summary() error: %v", err)
	}
	return b, sum.String()
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// checkSafety checks the structural safety rules on every emitted object.
func checkSafety(snap *snapshot.Snapshot, res *synth.Result) []string {
	idx := snapshot.NewIndex(&snap.Inventory)
	var bad []string
	fail := func(p *synth.Policy, format string, a ...any) {
		bad = append(bad, fmt.Sprintf("%s %s/%s: %s", p.Kind(), nsOf(p), p.Name(), fmt.Sprintf(format, a...)))
	}
	modes := map[[2]string]string{}
	for _, d := range res.Destinations {
		modes[[2]string{d.Namespace, d.Workload}] = d.Mode
	}
	observed := observedPorts(snap)
	for _, n := range res.Namespaces {
		names := map[string]bool{}
		for _, p := range n.Policies {
			if !dns1123.MatchString(p.Name()) || len(p.Name()) > 63 {
				fail(p, "name is not a DNS-1123 label")
			}
			if names[p.Kind()+"/"+p.Name()] {
				fail(p, "name used twice")
			}
			names[p.Kind()+"/"+p.Name()] = true
			if p.PeerAuthentication != nil {
				checkPeerAuthentication(p, fail)
				continue
			}
			ap := p.AuthorizationPolicy
			spec := &ap.Spec
			if ap.Labels[synth.LabelManagedBy] != synth.ManagedByValue {
				fail(p, "missing the managed-by label")
			}
			if spec.Selector != nil && len(spec.Selector.MatchLabels) == 0 {
				fail(p, "empty selector")
			}
			checkSelector(p, spec.Selector, fail)
			if spec.Selector == nil && len(spec.TargetRefs) == 0 && p.Role != synth.RoleDefaultDeny {
				fail(p, "no selector and no targetRefs: it would apply to the whole namespace")
			}
			if p.Role == synth.RoleDefaultDeny {
				if len(spec.Rules) != 0 || spec.Selector != nil || len(spec.TargetRefs) != 0 {
					fail(p, "default-deny is not allow-nothing")
				}
				continue
			}
			if len(spec.Rules) == 0 || len(spec.Rules) > 512 {
				fail(p, "%d rules", len(spec.Rules))
			}
			if spec.Action != securityv1beta1.AuthorizationPolicy_ALLOW {
				fail(p, "action %v", spec.Action)
			}
			for _, ref := range spec.TargetRefs {
				if ref.Kind != "Service" || ref.Group != "" || ref.Name == "" || ref.Namespace != "" {
					fail(p, "bad targetRef %v", ref)
				}
			}
			ztunnel := len(spec.TargetRefs) == 0 && modes[[2]string{n.Name, p.Workload}] == snapshot.MeshAmbient
			targetPorts := append(idx.TargetPorts(n.Name, p.Workload), observed[[2]string{n.Name, p.Workload}]...)
			if p.Role == synth.RoleWaypoint {
				// The Service's target ports, and the ports observed behind it.
				for _, w := range idx.WorkloadsOfService(n.Name, p.Service) {
					targetPorts = append(targetPorts, idx.TargetPorts(n.Name, w.Name)...)
				}
				for k, ports := range observed {
					if k[0] == n.Name {
						targetPorts = append(targetPorts, ports...)
					}
				}
			}
			tcpOnly := tcpOnlyPorts(snap, n.Name, p.Workload)
			for i, rule := range spec.Rules {
				checkRule(p, i, rule, ztunnel, targetPorts, tcpOnly, fail)
			}
			if len(p.Rules) != len(spec.Rules) {
				fail(p, "%d rule explanations for %d rules", len(p.Rules), len(spec.Rules))
			}
		}
	}
	return bad
}

func checkRule(p *synth.Policy, i int, r *securityv1beta1.Rule, ztunnel bool, targetPorts, tcpOnly []int, fail func(*synth.Policy, string, ...any)) {
	if r == nil || (r.From == nil && r.To == nil && r.When == nil) {
		fail(p, "rule %d is empty (allows everything)", i)
		return
	}
	if r.From != nil && len(r.From) == 0 || r.To != nil && len(r.To) == 0 {
		fail(p, "rule %d has an empty from or to list", i)
	}
	for _, f := range r.From {
		s := f.Source
		if s == nil || len(s.Principals) == 0 {
			fail(p, "rule %d: empty source", i)
			continue
		}
		if len(s.NotPrincipals)+len(s.Namespaces)+len(s.NotNamespaces)+len(s.RequestPrincipals)+len(s.IpBlocks) > 0 {
			fail(p, "rule %d: unexpected source fields", i)
		}
		for _, pr := range s.Principals {
			if _, err := snapshot.ParsePrincipal(pr); err != nil || strings.HasPrefix(pr, "spiffe://") || strings.Contains(pr, "*") || pr == "unknown" {
				fail(p, "rule %d: principal %q", i, pr)
			}
		}
	}
	for _, t := range r.To {
		o := t.Operation
		if o == nil || len(o.Ports)+len(o.Methods)+len(o.Paths) == 0 {
			fail(p, "rule %d: empty operation", i)
			continue
		}
		if len(o.Hosts)+len(o.NotHosts)+len(o.NotPorts)+len(o.NotMethods)+len(o.NotPaths) > 0 {
			fail(p, "rule %d: unexpected operation fields", i)
		}
		http := len(o.Methods)+len(o.Paths) > 0
		if ztunnel && http {
			fail(p, "rule %d: L7 field in a policy ztunnel enforces", i)
		}
		for _, v := range append(slices.Clone(o.Methods), o.Paths...) {
			if v == "" {
				fail(p, "rule %d: empty value", i)
			}
		}
		for _, v := range o.Paths {
			if err := paths.Valid(v); err != nil {
				fail(p, "rule %d: path %q: %v", i, v, err)
			}
			for _, seg := range strings.Split(strings.Trim(v, "/"), "/") {
				if seg != "{*}" && seg != "{**}" && strings.ContainsAny(seg, "{}") {
					fail(p, "rule %d: path %q has a brace outside a template (istiod rejects it)", i, v)
				}
			}
		}
		for _, ps := range o.Ports {
			port, err := strconv.Atoi(ps)
			if err != nil || port < 1 || port > 65535 {
				fail(p, "rule %d: port %q", i, ps)
				continue
			}
			if !slices.Contains(targetPorts, port) {
				fail(p, "rule %d: port %d is neither a target port nor an observed port", i, port)
			}
			if http && slices.Contains(tcpOnly, port) {
				fail(p, "rule %d: HTTP field with TCP-only port %d", i, port)
			}
		}
	}
	if len(r.When) > 0 {
		fail(p, "rule %d: unexpected when", i)
	}
}

// checkSelector applies the CRD's rules on matchLabels.
func checkSelector(p *synth.Policy, sel *typev1beta1.WorkloadSelector, fail func(*synth.Policy, string, ...any)) {
	if sel == nil {
		return
	}
	for k, v := range sel.MatchLabels {
		if k == "" || strings.Contains(k, "*") || strings.Contains(v, "*") || len(v) > 63 {
			fail(p, "selector %q=%q is rejected by the CRD", k, v)
		}
	}
}

func checkPeerAuthentication(p *synth.Policy, fail func(*synth.Policy, string, ...any)) {
	spec := &p.PeerAuthentication.Spec
	checkSelector(p, spec.Selector, fail)
	if spec.Selector != nil && len(spec.Selector.MatchLabels) == 0 {
		fail(p, "empty selector")
	}
	if len(spec.PortLevelMtls) > 0 && spec.Selector == nil {
		fail(p, "portLevelMtls without a selector")
	}
	if spec.Selector == nil && (spec.Mtls == nil || spec.Mtls.Mode != securityv1beta1.PeerAuthentication_MutualTLS_STRICT) {
		fail(p, "namespace policy that is not STRICT")
	}
	if spec.Selector != nil && spec.Mtls == nil && len(spec.PortLevelMtls) == 0 {
		fail(p, "workload policy that says nothing")
	}
	for port, m := range spec.PortLevelMtls {
		if port < 1 || port > 65535 || m == nil || m.Mode != securityv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE {
			fail(p, "port %d: %v", port, m)
		}
	}
	if spec.Mtls != nil && spec.Mtls.Mode == securityv1beta1.PeerAuthentication_MutualTLS_DISABLE {
		fail(p, "DISABLE")
	}
}

// observedPorts returns the target ports observed on edges, by destination.
func observedPorts(snap *snapshot.Snapshot) map[[2]string][]int {
	out := map[[2]string][]int{}
	for _, e := range snap.Edges {
		if e.Port > 0 {
			k := [2]string{e.Destination.Namespace, e.Destination.Workload}
			out[k] = append(out[k], e.Port)
		}
	}
	return out
}

// tcpOnlyPorts are the ports of a destination on which only TCP was observed.
func tcpOnlyPorts(snap *snapshot.Snapshot, ns, wl string) []int {
	tcp, l7 := map[int]bool{}, map[int]bool{}
	for _, e := range snap.Edges {
		if e.Destination.Namespace != ns || e.Destination.Workload != wl || e.Port == 0 {
			continue
		}
		if e.Protocol == snapshot.ProtocolTCP {
			tcp[e.Port] = true
		} else {
			l7[e.Port] = true
		}
	}
	var out []int
	for p := range tcp {
		if !l7[p] {
			out = append(out, p)
		}
	}
	return out
}

// destinationReasons are the reasons a destination got no policies at all:
// its traffic is still admitted (no ALLOW policy applies to it).
var destinationReasons = []synth.Reason{synth.ReasonWorkloadExcluded, synth.ReasonControlPlane, synth.ReasonGateway,
	synth.ReasonWaypoint, synth.ReasonNotInMesh, synth.ReasonNoSelector}

// checkReplay replays every included allowed edge (and every edge to a
// destination that got no policies) against the output: none may be denied.
func checkReplay(snap *snapshot.Snapshot, res *synth.Result) []string {
	inv := snap.Inventory
	inv.Workloads = slices.Clone(inv.Workloads)
	modes := map[[2]string]string{}
	for _, d := range res.Destinations {
		modes[[2]string{d.Namespace, d.Workload}] = d.Mode
	}
	// Replay with the data plane synthesis wrote for (--mode may force it).
	known := map[[2]string]bool{}
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		known[[2]string{w.Namespace, w.Name}] = true
		if m := modes[[2]string{w.Namespace, w.Name}]; m != "" {
			w.MeshMode = m
		}
	}
	for _, d := range res.Destinations {
		if !known[[2]string{d.Namespace, d.Workload}] {
			// Not in the inventory: labels unknown, mode as synthesized.
			inv.Workloads = append(inv.Workloads, snapshot.Workload{Namespace: d.Namespace, Name: d.Workload, MeshMode: d.Mode, Inferred: true})
		}
	}
	idx := snapshot.NewIndex(&inv)
	ps := res.PolicySet()
	b := snapshot.NewBuilder()
	for _, e := range snap.Edges {
		b.Add(e)
	}
	byKey := map[snapshot.Key]snapshot.Edge{}
	for _, e := range b.Edges() {
		byKey[e.Key()] = e
	}
	var bad []string
	for _, u := range res.Edges {
		e := byKey[u.Key]
		if e.Counts.Allowed() <= 0 || !(u.Included || slices.Contains(destinationReasons, u.Reason)) {
			continue
		}
		if v := eval.Replay(ps, idx, res.TrustDomain, &e); v.Outcome == eval.Deny {
			bad = append(bad, fmt.Sprintf("edge %s -> %s/%s port %d %s %s %q (reporter %s, included %v, reason %q) is denied: %s",
				e.Source.Principal+e.Source.IP+e.Source.Workload, e.Destination.Namespace, e.Destination.Workload, e.Port, e.Protocol, e.Method, e.Path,
				e.Reporter, u.Included, u.Reason, describe(v)))
		}
	}
	return bad
}

func describe(v eval.Verdict) string {
	var parts []string
	for _, h := range v.Hops {
		parts = append(parts, fmt.Sprintf("%s: %s", h.Point, h.Decision.Reason))
	}
	if v.Note != "" {
		parts = append(parts, v.Note)
	}
	return strings.Join(parts, "; ")
}

func nsOf(p *synth.Policy) string {
	if p.PeerAuthentication != nil {
		return p.PeerAuthentication.Namespace
	}
	return p.AuthorizationPolicy.Namespace
}
