package eval

import (
	"strings"
	"testing"
)

// The conformance table: one case per rule of
// /work/shared/reference/istio-semantics.md, named after its section.

const nsAllowWebOnly = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/web"]
`

type confCase struct {
	name     string
	policies string
	root     string   // PolicySet.RootNamespace
	td       string   // PolicySet.TrustDomain
	aliases  []string // PolicySet.TrustDomainAliases
	point    Point
	req      Request
	want     Outcome
	// Optional: the deciding policy and rule, and a substring of the reason.
	wantPolicy string
	wantRule   *int
	wantReason string
}

func rule(i int) *int { return &i }

func runConformance(t *testing.T, cases []confCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := mustSet(t, tc.policies)
			ps.RootNamespace, ps.TrustDomain, ps.TrustDomainAliases = tc.root, tc.td, tc.aliases
			point := tc.point
			if point == "" {
				point = Sidecar
			}
			got := ps.Decide(point, tc.req)
			if got.Outcome != tc.want {
				t.Fatalf("Decide(%s) = %s (%s), want %s", point, got.Outcome, got.Reason, tc.want)
			}
			if tc.wantPolicy != "" && got.Policy != tc.wantPolicy {
				t.Errorf("Decide(%s).Policy = %q (%s), want %q", point, got.Policy, got.Reason, tc.wantPolicy)
			}
			if tc.wantRule != nil && got.Rule != *tc.wantRule {
				t.Errorf("Decide(%s).Rule = %d (%s), want %d", point, got.Rule, got.Reason, *tc.wantRule)
			}
			if tc.wantReason != "" && !strings.Contains(got.Reason, tc.wantReason) {
				t.Errorf("Decide(%s).Reason = %q, want it to contain %q", point, got.Reason, tc.wantReason)
			}
		})
	}
}

func TestConformanceScope(t *testing.T) {
	runConformance(t, []confCase{
		{
			name:     "1.3 a policy without selector applies to every workload of its namespace",
			policies: nsAllowWebOnly,
			req:      req(principal(other), labels("app", "anything")),
			want:     Deny,
		},
		{
			name:     "1.3 a policy of another namespace does not apply",
			policies: nsAllowWebOnly,
			req:      req(principal(other), namespace("billing")),
			want:     Allow, wantReason: "no ALLOW policy applies",
		},
		{
			name: "1.3 a root-namespace policy without selector applies mesh-wide",
			policies: `
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: istio-system}
spec: {}`,
			req:  req(namespace("billing")),
			want: Deny, wantReason: "ALLOW policies: istio-system/allow-nothing",
		},
		{
			name: "1.3 the root namespace is MeshConfig rootNamespace",
			policies: `
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: istio-system}
spec: {}`,
			root: "mesh-root",
			req:  req(),
			want: Allow,
		},
		{
			name: "1.3 a selector applies to workloads with all its labels",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart, version: v1}}`,
			req:  req(),
			want: Deny,
		},
		{
			name: "1.3 a selector does not apply to workloads missing one of its labels",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart, version: v2}}`,
			req:  req(),
			want: Allow,
		},
		{
			name: "1.3 a root-namespace selector matches labelled workloads in all namespaces",
			policies: `
kind: AuthorizationPolicy
metadata: {name: carts, namespace: istio-system}
spec:
  selector: {matchLabels: {app: cart}}
  action: DENY
  rules: [{}]`,
			req:  req(namespace("billing")),
			want: Deny, wantPolicy: "istio-system/carts", wantRule: rule(0),
		},
		{
			name: "1.3 unknown labels make a selector's match unknown",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {tier: backend}}
  action: DENY
  rules: [{}]`,
			req:  req(func(r *Request) { r.LabelsIncomplete = true }),
			want: Unknown, wantReason: "workload labels",
		},
		{
			name: "1.3 sidecars ignore policies with targetRefs",
			policies: `
kind: AuthorizationPolicy
metadata: {name: deny-cart, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  action: DENY
  rules: [{}]`,
			req:  req(),
			want: Allow,
		},
		{
			name: "1.3 sidecars ignore policies with the deprecated targetRef",
			policies: `
kind: AuthorizationPolicy
metadata: {name: deny-cart, namespace: shop}
spec:
  targetRef: {kind: Service, group: "", name: cart}
  action: DENY
  rules: [{}]`,
			req:  req(),
			want: Allow,
		},
		{
			name: "1.3 ztunnel ignores policies with targetRefs",
			policies: `
kind: AuthorizationPolicy
metadata: {name: deny-cart, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  action: DENY
  rules: [{}]`,
			point: Ztunnel, req: req(tcp),
			want: Allow,
		},
		{
			name: "1.3 waypoints ignore namespace-wide and selector policies",
			policies: `
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  action: DENY
  rules: [{}]
---
kind: AuthorizationPolicy
metadata: {name: deny-cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Allow,
		},
		{
			name: "1.3 waypoint: targetRefs Service applies to requests addressed to that Service",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart-api, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Deny, wantPolicy: "shop/cart-api",
		},
		{
			name: "1.3 waypoint: targetRefs Service (group core) does not apply to another Service",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart-api, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: core, name: cart}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint"), service("orders")),
			want: Allow,
		},
		{
			name: "1.3 waypoint: targetRefs Service of another namespace does not apply",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart-api, namespace: billing}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Allow,
		},
		{
			name: "1.3 waypoint: an unknown Service makes targetRefs Service undecidable",
			policies: `
kind: AuthorizationPolicy
metadata: {name: cart-api, namespace: shop}
spec:
  targetRefs: [{kind: Service, group: "", name: cart}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint"), service("")),
			want: Unknown, wantReason: "Service",
		},
		{
			name: "1.3 waypoint: targetRefs Gateway applies to all traffic of that waypoint",
			policies: `
kind: AuthorizationPolicy
metadata: {name: wp, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint"), service("anything")),
			want: Deny, wantPolicy: "shop/wp",
		},
		{
			name: "1.3 waypoint: targetRefs Gateway of another waypoint does not apply",
			policies: `
kind: AuthorizationPolicy
metadata: {name: wp, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: other-waypoint}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Allow,
		},
		{
			name: "1.3 waypoint: targetRefs Gateway must be in the waypoint's namespace",
			policies: `
kind: AuthorizationPolicy
metadata: {name: wp, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint"), func(r *Request) { r.WaypointNamespace = "mesh-infra" }),
			want: Allow,
		},
		{
			name: "1.3 waypoint: GatewayClass istio-waypoint from the root namespace applies to every waypoint",
			policies: `
kind: AuthorizationPolicy
metadata: {name: all-waypoints, namespace: istio-system}
spec:
  targetRefs: [{kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Deny, wantPolicy: "istio-system/all-waypoints",
		},
		{
			name: "1.3 waypoint: GatewayClass from a non-root namespace does not apply",
			policies: `
kind: AuthorizationPolicy
metadata: {name: all-waypoints, namespace: shop}
spec:
  targetRefs: [{kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}]
  action: DENY
  rules: [{}]`,
			point: Waypoint, req: req(waypoint("waypoint")),
			want: Allow,
		},
	})
}

func TestConformanceEvaluationOrder(t *testing.T) {
	runConformance(t, []confCase{
		{
			name: "1.4 no AuthorizationPolicy: everything allowed",
			req:  req(), want: Allow, wantReason: "no ALLOW policy applies",
		},
		{
			name: "1.4 spec {} (ALLOW without rules) denies everything",
			policies: `
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}`,
			req: req(), want: Deny, wantReason: "no ALLOW rule matched (ALLOW policies: shop/allow-nothing)",
		},
		{
			name: "1.4 ALLOW with rules [{}] allows everything",
			policies: `
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: shop}
spec: {action: ALLOW, rules: [{}]}`,
			req: req(plaintext, tcp), want: Allow, wantPolicy: "shop/allow-all", wantRule: rule(0),
		},
		{
			name: "1.4 DENY with rules [{}] denies everything and wins over ALLOW",
			policies: `
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: shop}
spec: {rules: [{}]}
---
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: shop}
spec: {action: DENY, rules: [{}]}`,
			req: req(), want: Deny, wantPolicy: "shop/deny-all", wantRule: rule(0),
		},
		{
			name: "1.4 DENY with rules omitted never matches",
			policies: `
kind: AuthorizationPolicy
metadata: {name: deny-nothing, namespace: shop}
spec: {action: DENY}`,
			req: req(), want: Allow,
		},
		{
			name: "1.4 ALLOW policies are OR-ed: a second policy that matches allows",
			policies: nsAllowWebOnly + `
---
kind: AuthorizationPolicy
metadata: {name: batch, namespace: shop}
spec:
  rules:
  - from: [{source: {namespaces: [batch]}}]`,
			req: req(principal(batch)), want: Allow, wantPolicy: "shop/batch",
		},
		{
			name:     "1.4 ALLOW policies exist but none matches: denied",
			policies: nsAllowWebOnly,
			req:      req(principal(batch)), want: Deny, wantReason: "no ALLOW rule matched (ALLOW policies: shop/web-only)",
		},
		{
			name: "1.4 AUDIT policies never change the decision",
			policies: `
kind: AuthorizationPolicy
metadata: {name: audit-all, namespace: shop}
spec: {action: AUDIT, rules: [{}]}`,
			req: req(), want: Allow, wantReason: "no ALLOW policy applies",
		},
		{
			name: "1.4 a CUSTOM policy that applies is undecidable",
			policies: `
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/cart/*"]}}]}]`,
			req: req(), want: Unknown, wantReason: "CUSTOM policy shop/ext-authz applies: undecidable",
		},
		{
			name: "1.4 a CUSTOM policy that does not match leaves the decision to DENY and ALLOW",
			policies: `
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]`,
			req: req(), want: Allow,
		},
		{
			name: "1.4 a DENY match denies even where a CUSTOM policy applies",
			policies: `
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{}]
---
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: shop}
spec: {action: DENY, rules: [{}]}`,
			req: req(), want: Deny, wantPolicy: "shop/deny-all",
		},
		{
			name: "1.4 ztunnel implements neither CUSTOM nor AUDIT",
			policies: `
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{}]
---
kind: AuthorizationPolicy
metadata: {name: audit, namespace: shop}
spec: {action: AUDIT, rules: [{}]}`,
			point: Ztunnel, req: req(tcp), want: Allow,
		},
		{
			name: "1.4 a rule without from matches any source",
			policies: `
kind: AuthorizationPolicy
metadata: {name: port, namespace: shop}
spec:
  rules: [{to: [{operation: {ports: ["8080"]}}]}]`,
			req: req(plaintext), want: Allow,
		},
		{
			name: "1.4 a rule without to matches any operation",
			policies: `
kind: AuthorizationPolicy
metadata: {name: web, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]}]`,
			req: req(port(9999), method("DELETE")), want: Allow,
		},
	})
}

func TestConformanceCombination(t *testing.T) {
	runConformance(t, []confCase{
		{
			name:     "1.5 rules are OR-ed",
			policies: twoRules,
			req:      req(principal(batch)), want: Allow, wantRule: rule(1),
		},
		{
			name: "1.5 values of one field are OR-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/x/sa/y", "cluster.local/ns/shop/sa/web"]}}]}]`,
			req: req(), want: Allow,
		},
		{
			name: "1.5 fields of one source are AND-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"], ipBlocks: ["192.168.0.0/16"]}}]}]`,
			req: req(), want: Deny,
		},
		{
			name: "1.5 from entries are OR-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/x/sa/y"]}
    - source: {ipBlocks: ["10.0.0.0/8"]}`,
			req: req(), want: Allow,
		},
		{
			name: "1.5 to entries are OR-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - to:
    - operation: {methods: ["POST"]}
    - operation: {ports: ["8080"]}`,
			req: req(), want: Allow,
		},
		{
			name: "1.5 fields of one operation are AND-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{to: [{operation: {ports: ["8080"], methods: ["POST"]}}]}]`,
			req: req(), want: Deny,
		},
		{
			name: "1.5 from, to and when of a rule are AND-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]
    to: [{operation: {methods: ["GET"]}}]
    when: [{key: source.ip, values: ["192.168.0.1"]}]`,
			req: req(), want: Deny,
		},
		{
			name: "1.5 a positive and a negative field are AND-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/*"], notPrincipals: ["cluster.local/ns/shop/sa/web"]}}]}]`,
			req: req(), want: Deny,
		},
		{
			name: "1.5 when conditions are AND-ed",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - when:
    - {key: source.namespace, values: [shop]}
    - {key: destination.port, values: ["9090"]}`,
			req: req(), want: Deny,
		},
		{
			name: "1.5 condition values are OR-ed and notValues negated",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - when:
    - {key: destination.port, values: ["80", "8080"], notValues: ["8080"]}`,
			req: req(), want: Deny,
		},
	})
}

const twoRules = `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]
  - from: [{source: {namespaces: ["batch"]}}]`

// allowFrom is an ALLOW policy in shop with one source field.
func allowFrom(field string, values ...string) string {
	return `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {` + field + `: ["` + strings.Join(values, `", "`) + `"]}}]}]`
}

// allowTo is an ALLOW policy in shop with one operation field.
func allowTo(field string, values ...string) string {
	return `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{to: [{operation: {` + field + `: ["` + strings.Join(values, `", "`) + `"]}}]}]`
}

// allowWhen is an ALLOW policy in shop with one condition.
func allowWhen(key string, values ...string) string {
	return `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{when: [{key: "` + key + `", values: ["` + strings.Join(values, `", "`) + `"]}]}]`
}

// denyFrom is a DENY policy in shop with one source field.
func denyFrom(field string, values ...string) string {
	return `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {` + field + `: ["` + strings.Join(values, `", "`) + `"]}}]}]`
}

func TestConformanceSources(t *testing.T) {
	runConformance(t, []confCase{
		{name: "1.6 principals: exact match", policies: allowFrom("principals", web), req: req(), want: Allow},
		{name: "1.6 principals: exact match is case-sensitive", policies: allowFrom("principals", "cluster.local/ns/shop/sa/Web"), req: req(), want: Deny},
		{name: "1.6 principals: trailing * is a prefix match", policies: allowFrom("principals", "cluster.local/ns/shop/*"), req: req(), want: Allow},
		{name: "1.6 principals: prefix match does not cross into other namespaces", policies: allowFrom("principals", "cluster.local/ns/shop/*"), req: req(principal(batch)), want: Deny},
		{name: "1.6 principals: leading * is a suffix match (any trust domain)", policies: allowFrom("principals", "*/ns/shop/sa/web"), req: req(principal(foreign)), want: Allow},
		{name: "1.6 principals: * matches any authenticated peer", policies: allowFrom("principals", "*"), req: req(principal(batch)), want: Allow},
		{name: "1.6 principals: * does not match plaintext", policies: allowFrom("principals", "*"), req: req(plaintext), want: Deny},
		{name: "1.6 principals: a * in the middle is literal", policies: allowFrom("principals", "cluster.local/ns/*/sa/web"), req: req(), want: Deny},
		{name: "1.6 principals: *foo* is a suffix match of the literal foo*", policies: allowFrom("principals", "*sa/we*"), req: req(principal("cluster.local/ns/shop/sa/we*")), want: Allow},
		{name: "1.6 principals: *foo* does not match foo followed by more", policies: allowFrom("principals", "*sa/we*"), req: req(), want: Deny},
		{name: "1.6 plaintext: positive principals never match (ALLOW fails closed)", policies: allowFrom("principals", web), req: req(plaintext), want: Deny},
		{name: "1.6 plaintext: notPrincipals always match (ALLOW fails open)", policies: allowFrom("notPrincipals", batch), req: req(plaintext), want: Allow},
		{name: "1.6 plaintext: DENY on principals fails open", policies: denyFrom("principals", "*"), req: req(plaintext), want: Allow},
		{name: "1.6 plaintext: DENY notPrincipals [*] rejects plaintext", policies: denyFrom("notPrincipals", "*"), req: req(plaintext), want: Deny},
		{name: "1.6 plaintext: positive namespaces never match", policies: allowFrom("namespaces", "*"), req: req(plaintext), want: Deny},
		{name: "1.6 plaintext: notNamespaces always match", policies: allowFrom("notNamespaces", "batch"), req: req(plaintext), want: Allow},
		{name: "1.6 namespaces: exact match on the certificate's namespace", policies: allowFrom("namespaces", "shop"), req: req(), want: Allow},
		{name: "1.6 namespaces: other namespace does not match", policies: allowFrom("namespaces", "shop"), req: req(principal(batch)), want: Deny},
		{name: "1.6 namespaces: prefix match", policies: allowFrom("namespaces", "ba*"), req: req(principal(batch)), want: Allow},
		{name: "1.6 namespaces: suffix match", policies: allowFrom("namespaces", "*tch"), req: req(principal(batch)), want: Allow},
		{name: "1.6 namespaces: * matches any authenticated peer", policies: allowFrom("namespaces", "*"), req: req(principal(batch)), want: Allow},
		{name: "1.6 namespaces: Envoy turns every * into .* (a middle * is a wildcard at a sidecar)", policies: allowFrom("namespaces", "b*h"), req: req(principal(batch)), want: Allow},
		{name: "1.6 namespaces: ztunnel treats a middle * literally", policies: allowFrom("namespaces", "b*h"), point: Ztunnel, req: req(principal(batch), tcp), want: Deny},
		{name: "1.6 notNamespaces excludes a namespace", policies: allowFrom("notNamespaces", "shop"), req: req(), want: Deny},
		{name: "1.6 serviceAccounts: ns/sa", policies: allowFrom("serviceAccounts", "shop/web"), req: req(), want: Allow},
		{name: "1.6 serviceAccounts: a bare name is in the policy's namespace", policies: allowFrom("serviceAccounts", "web"), req: req(), want: Allow},
		{name: "1.6 serviceAccounts: a bare name does not match the same name elsewhere", policies: allowFrom("serviceAccounts", "job"), req: req(principal(batch)), want: Deny},
		{name: "1.6 serviceAccounts: any trust domain", policies: allowFrom("serviceAccounts", "shop/web"), req: req(principal(foreign)), want: Allow},
		{name: "1.6 serviceAccounts: any trust domain at ztunnel too", policies: allowFrom("serviceAccounts", "shop/web"), point: Ztunnel, req: req(principal(foreign), tcp), want: Allow},
		{name: "1.6 serviceAccounts: the name must match whole", policies: allowFrom("serviceAccounts", "shop/we"), req: req(), want: Deny},
		{name: "1.6 serviceAccounts: plaintext never matches", policies: allowFrom("serviceAccounts", "shop/web"), req: req(plaintext), want: Deny},
		{name: "1.6 notServiceAccounts excludes an account", policies: allowFrom("notServiceAccounts", "shop/web"), req: req(), want: Deny},
		{name: "1.6 ipBlocks: CIDR", policies: allowFrom("ipBlocks", "10.0.0.0/24"), req: req(), want: Allow},
		{name: "1.6 ipBlocks: single IP", policies: allowFrom("ipBlocks", "10.0.0.5"), req: req(), want: Allow},
		{name: "1.6 ipBlocks: address outside", policies: allowFrom("ipBlocks", "10.0.1.0/24"), req: req(), want: Deny},
		{name: "1.6 ipBlocks: need no mTLS", policies: allowFrom("ipBlocks", "10.0.0.0/8"), req: req(plaintext), want: Allow},
		{name: "1.6 notIpBlocks excludes addresses", policies: allowFrom("notIpBlocks", "10.0.0.0/8"), req: req(), want: Deny},
		{name: "1.6 ipBlocks: unknown source IP is undecidable", policies: allowFrom("ipBlocks", "10.0.0.0/8"), req: req(sourceIP("")), want: Unknown, wantReason: "source IP"},
		{name: "1.6 ipBlocks: an invalid value drops the ALLOW rule", policies: allowFrom("ipBlocks", "10.0.0.0/8", "not-an-ip"), req: req(), want: Deny, wantReason: "shop/p rule 0 is skipped by istiod: it has an invalid value in ipBlocks"},
		{name: "1.6 ipBlocks: an invalid value is skipped in a DENY rule", policies: denyFrom("ipBlocks", "not-an-ip", "10.0.0.0/8"), req: req(), want: Deny},
		{name: "1.6 ipBlocks at ztunnel", policies: allowFrom("ipBlocks", "10.0.0.0/24"), point: Ztunnel, req: req(tcp, plaintext), want: Allow},
		{name: "1.6 remoteIpBlocks are not known at replay", policies: allowFrom("remoteIpBlocks", "10.0.0.0/8"), req: req(), want: Unknown, wantReason: "remote IP"},
		{name: "1.6 requestPrincipals are not known at replay", policies: allowFrom("requestPrincipals", "*"), req: req(), want: Unknown, wantReason: "requestPrincipals"},
		{name: "1.6 trust domain: sidecars rewrite cluster.local principals to the mesh trust domain", policies: allowFrom("principals", web), td: "example.org", req: req(principal(foreign)), want: Allow},
		{name: "1.6 trust domain: after rewriting, cluster.local itself no longer matches", policies: allowFrom("principals", web), td: "example.org", req: req(), want: Deny},
		{name: "1.6 trust domain: ztunnel does not rewrite", policies: allowFrom("principals", web), td: "example.org", point: Ztunnel, req: req(principal(foreign), tcp), want: Deny},
		{name: "1.6 trust domain aliases: a cluster.local principal matches the trust domain", policies: allowFrom("principals", web), td: "example.org", aliases: []string{"cluster.local"}, req: req(principal(foreign)), want: Allow},
		{name: "1.6 trust domain aliases: a cluster.local principal matches the alias cluster.local", policies: allowFrom("principals", web), td: "example.org", aliases: []string{"cluster.local"}, req: req(), want: Allow},
		{name: "1.6 trust domain aliases: a principal of an alias matches the trust domain", policies: allowFrom("principals", "old.example/ns/shop/sa/web"), td: "example.org", aliases: []string{"old.example"}, req: req(principal(foreign)), want: Allow},
		{name: "1.6 trust domain aliases: a principal of the trust domain matches an alias", policies: allowFrom("principals", foreign), td: "example.org", aliases: []string{"old.example"}, req: req(principal("old.example/ns/shop/sa/web")), want: Allow},
		{name: "1.6 trust domain aliases: a principal of an unrelated trust domain is kept as is", policies: allowFrom("principals", "other.td/ns/shop/sa/web"), td: "example.org", aliases: []string{"old.example"}, req: req(principal(foreign)), want: Deny},
		{name: "1.6 trust domain aliases: ztunnel does not expand aliases", policies: allowFrom("principals", "old.example/ns/shop/sa/web"), td: "example.org", aliases: []string{"old.example"}, point: Ztunnel, req: req(principal(foreign), tcp), want: Deny},
		{name: "1.6 trust domain: a principal of another trust domain is kept", policies: allowFrom("principals", "other.td/ns/shop/sa/web"), td: "example.org", req: req(principal("other.td/ns/shop/sa/web")), want: Allow},
		{name: "1.6 trustDomains: exact trust domain at Envoy", policies: allowFrom("trustDomains", "example.org"), req: req(principal(foreign)), want: Allow},
		{name: "1.6 trustDomains: other trust domain", policies: allowFrom("trustDomains", "example.org"), req: req(), want: Deny},
		{name: "1.6 trustDomains: not converted for ztunnel (a source with only trustDomains never matches)", policies: allowFrom("trustDomains", "example.org"), point: Ztunnel, req: req(principal(foreign), tcp), want: Deny},
	})
}

func TestConformanceOperations(t *testing.T) {
	runConformance(t, []confCase{
		{name: "1.7 ports: exact target port", policies: allowTo("ports", "8080"), req: req(), want: Allow},
		{name: "1.7 ports: the Service port does not match the target port", policies: allowTo("ports", "80"), req: req(), want: Deny},
		{name: "1.7 ports: unknown port is undecidable", policies: allowTo("ports", "8080"), req: req(port(0)), want: Unknown, wantReason: "port"},
		{name: "1.7 notPorts excludes a port", policies: allowTo("notPorts", "8080"), req: req(), want: Deny},
		{name: "1.7 ports: an invalid value drops the ALLOW rule", policies: allowTo("ports", "8080", "http"), req: req(), want: Deny},
		{name: "1.7 methods: exact", policies: allowTo("methods", "GET"), req: req(), want: Allow},
		{name: "1.7 methods: case-sensitive", policies: allowTo("methods", "get"), req: req(), want: Deny},
		{name: "1.7 methods: * matches any method, even unknown", policies: allowTo("methods", "*"), req: req(method("")), want: Allow},
		{name: "1.7 methods: unknown method is undecidable", policies: allowTo("methods", "GET"), req: req(method("")), want: Unknown, wantReason: "method"},
		{name: "1.7 notMethods excludes a method", policies: allowTo("notMethods", "GET"), req: req(), want: Deny},
		{name: "1.7 gRPC: the method is POST", policies: allowTo("methods", "POST"), req: req(protocol("grpc"), method(""), path("/shop.v1.Cart/AddItem")), want: Allow},
		{name: "1.7 gRPC: paths are /package.Service/Method", policies: allowTo("paths", "/shop.v1.Cart/*"), req: req(protocol("grpc"), path("/shop.v1.Cart/AddItem")), want: Allow},
		{name: "1.7 paths: exact", policies: allowTo("paths", "/cart/items"), req: req(), want: Allow},
		{name: "1.7 paths: case-sensitive", policies: allowTo("paths", "/Cart/items"), req: req(), want: Deny},
		{name: "1.7 paths: exact does not match a longer path", policies: allowTo("paths", "/cart"), req: req(), want: Deny},
		{name: "1.7 paths: trailing * is a prefix match crossing segments", policies: allowTo("paths", "/cart/*"), req: req(path("/cart/a/b/c")), want: Allow},
		{name: "1.7 paths: leading * is a suffix match", policies: allowTo("paths", "*/items"), req: req(), want: Allow},
		{name: "1.7 paths: * matches any path", policies: allowTo("paths", "*"), req: req(path("")), want: Allow},
		{name: "1.7 paths: a * in the middle is literal", policies: allowTo("paths", "/cart/*/x"), req: req(path("/cart/a/x")), want: Deny},
		{name: "1.7 paths: {*} matches one segment", policies: allowTo("paths", "/cart/{*}"), req: req(), want: Allow},
		{name: "1.7 paths: {*} does not cross segments", policies: allowTo("paths", "/cart/{*}"), req: req(path("/cart/items/42")), want: Deny},
		{name: "1.7 paths: {**} matches several segments", policies: allowTo("paths", "/cart/{**}"), req: req(path("/cart/items/42")), want: Allow},
		{name: "1.7 paths: literal segments may follow {**}", policies: allowTo("paths", "/cart/{**}/edit"), req: req(path("/cart/items/42/edit")), want: Allow},
		{name: "1.7 paths: unknown path is undecidable", policies: allowTo("paths", "/cart/*"), req: req(path("")), want: Unknown, wantReason: "path"},
		{name: "1.7 paths: a folded prefix inside a prefix rule matches", policies: allowTo("paths", "/cart/*"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Allow},
		{name: "1.7 paths: a folded prefix inside a {**} template matches", policies: allowTo("paths", "/cart/{**}"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Allow},
		{name: "1.7 paths: a folded prefix wider than a {**} template is undecidable", policies: allowTo("paths", "/cart/items/x/{**}"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Unknown},
		{name: "1.7 paths: a folded prefix under a {*} template is undecidable", policies: allowTo("paths", "/cart/{*}"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Unknown},
		{name: "1.7 paths: a folded prefix outside a rule does not match", policies: allowTo("paths", "/admin/*"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Deny},
		{name: "1.7 paths: a folded prefix wider than an exact rule is undecidable", policies: allowTo("paths", "/cart/items/1"), req: req(path("/cart/items/"), func(r *Request) { r.PathIsPrefix = true }), want: Unknown},
		{name: "1.7 notPaths excludes paths", policies: allowTo("notPaths", "/cart/*"), req: req(), want: Deny},
		{name: "1.7 hosts: case-insensitive", policies: allowTo("hosts", "Cart.Shop.svc.cluster.local"), req: req(), want: Allow},
		{name: "1.7 hosts: host does not match host:port", policies: allowTo("hosts", "cart.shop.svc.cluster.local"), req: req(host("cart.shop.svc.cluster.local:8080")), want: Deny},
		{name: "1.7 hosts: host:* matches host:port", policies: allowTo("hosts", "cart.shop.svc.cluster.local", "cart.shop.svc.cluster.local:*"), req: req(host("cart.shop.svc.cluster.local:8080")), want: Allow},
		{name: "1.7 hosts: suffix match", policies: allowTo("hosts", "*.shop.svc.cluster.local"), req: req(), want: Allow},
		{name: "1.7 hosts: unknown host is undecidable", policies: allowTo("hosts", "cart"), req: req(host("")), want: Unknown, wantReason: "host"},
		{name: "1.7 notHosts excludes hosts", policies: allowTo("notHosts", "cart.shop.svc.cluster.local"), req: req(), want: Deny},
	})
}

func TestConformanceConditions(t *testing.T) {
	runConformance(t, []confCase{
		{name: "1.8 source.ip", policies: allowWhen("source.ip", "10.0.0.0/8"), req: req(), want: Allow},
		{name: "1.8 source.namespace", policies: allowWhen("source.namespace", "shop"), req: req(), want: Allow},
		{name: "1.8 source.namespace needs mTLS", policies: allowWhen("source.namespace", "shop"), req: req(plaintext), want: Deny},
		{name: "1.8 source.principal", policies: allowWhen("source.principal", web), req: req(), want: Allow},
		{name: "1.8 source.serviceAccount", policies: allowWhen("source.serviceAccount", "shop/web"), req: req(), want: Allow},
		{name: "1.8 source.trustDomain", policies: allowWhen("source.trustDomain", "cluster.local"), req: req(), want: Allow},
		{name: "1.8 destination.port", policies: allowWhen("destination.port", "8080"), req: req(), want: Allow},
		{name: "1.8 destination.ip is not known at replay", policies: allowWhen("destination.ip", "10.1.0.0/16"), req: req(), want: Unknown},
		{name: "1.8 request.headers are not known at replay", policies: allowWhen("request.headers[x-user]", "admin"), req: req(), want: Unknown, wantReason: "request.headers[x-user]"},
		{
			name: "1.8 an unknown header does not matter when another condition fails",
			policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - when:
    - {key: "request.headers[x-user]", values: [admin]}
    - {key: source.namespace, values: [billing]}`,
			req: req(), want: Deny,
		},
		{
			name: "1.8 a DENY on an unknown header does not matter when an ALLOW rule fails anyway",
			policies: nsAllowWebOnly + `
---
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{when: [{key: "request.headers[x-user]", values: [admin]}]}]`,
			req: req(principal(batch)), want: Deny, wantReason: "no ALLOW rule matched",
		},
		{name: "1.8 request.auth.claims are not known at replay", policies: allowWhen("request.auth.claims[groups]", "admins"), req: req(), want: Unknown},
		{name: "1.8 an unknown condition key skips the ALLOW rule", policies: allowWhen("destination.namespace", "shop"), req: req(), want: Deny, wantReason: "shop/p rule 0 is skipped by istiod: unknown attribute destination.namespace"},
		{
			name: "1.8 an unknown condition key skips the DENY rule",
			policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{when: [{key: destination.labels, values: [x]}]}]`,
			req: req(), want: Allow,
		},
	})
}

func TestConformanceTCP(t *testing.T) {
	runConformance(t, []confCase{
		{name: "1.9 ALLOW rule with methods on TCP is dropped", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{to: [{operation: {ports: ["8080"], methods: ["GET"]}}]}]`,
			req: req(tcp), want: Deny, wantReason: "no ALLOW rule matched (ALLOW policies: shop/p); shop/p rule 0 does not apply to TCP traffic: it has the HTTP-only field methods"},
		{name: "1.9 ALLOW rule is dropped on TCP even when only one of its operations has an HTTP field", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - to:
    - operation: {ports: ["8080"]}
    - operation: {ports: ["9090"], paths: ["/metrics"]}`,
			req: req(tcp), want: Deny},
		{name: "1.9 ALLOW rule with requestPrincipals on TCP is dropped", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"], requestPrincipals: ["*"]}}]}]`,
			req: req(tcp), want: Deny},
		{name: "1.9 ALLOW rule with a request.headers condition on TCP is dropped", policies: allowWhen("request.headers[x]", "y"), req: req(tcp), want: Deny},
		{name: "1.9 another L4 rule of the same ALLOW policy still allows on TCP", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - to: [{operation: {methods: ["GET"]}}]
  - to: [{operation: {ports: ["8080"]}}]`,
			req: req(tcp), want: Allow, wantRule: rule(1)},
		{name: "1.9 the same ALLOW rule with methods works on HTTP", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{to: [{operation: {ports: ["8080"], methods: ["GET"]}}]}]`,
			req: req(), want: Allow},
		{name: "1.9 DENY rule with only methods denies all TCP traffic", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: ["POST"]}}]}]`,
			req: req(tcp), want: Deny, wantPolicy: "shop/d"},
		{name: "1.9 DENY rule with ports and methods denies all TCP traffic on that port", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {ports: ["8080"], methods: ["POST"]}}]}]`,
			req: req(tcp), want: Deny},
		{name: "1.9 DENY rule with ports and methods leaves other TCP ports alone", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {ports: ["9090"], methods: ["POST"]}}]}]`,
			req: req(tcp), want: Allow},
		{name: "1.9 DENY rule with a request.headers condition is widened on TCP", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {namespaces: [shop]}}], when: [{key: "request.headers[x]", values: ["y"]}]}]`,
			req: req(tcp), want: Deny},
		{name: "1.9 an unknown protocol is decided both ways", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{to: [{operation: {methods: ["GET"]}}]}]`,
			req: req(protocol("")), want: Unknown, wantReason: "protocol is unknown"},
		{name: "1.9 an unknown protocol that does not matter is decided", policies: nsAllowWebOnly, req: req(protocol("")), want: Allow},
	})
}

func TestConformanceDryRun(t *testing.T) {
	runConformance(t, []confCase{
		{name: "1.10 a dry-run ALLOW policy is not enforced", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {}`, req: req(), want: Allow},
		{name: "1.10 a dry-run DENY policy is not enforced", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop, annotations: {istio.io/dry-run: "True"}}
spec: {action: DENY, rules: [{}]}`, req: req(), want: Allow},
		{name: "1.10 dry-run false is enforced", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop, annotations: {istio.io/dry-run: "false"}}
spec: {action: DENY, rules: [{}]}`, req: req(), want: Deny},
		{name: "1.10 an unparsable dry-run value is enforced", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop, annotations: {istio.io/dry-run: "yes"}}
spec: {action: DENY, rules: [{}]}`, req: req(), want: Deny},
		{name: "1.10 dry-run policies are not sent to ztunnel", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}`, point: Ztunnel, req: req(tcp), want: Allow},
	})
}

func TestConformanceZtunnel(t *testing.T) {
	zt := func(c confCase) confCase {
		c.point = Ztunnel
		if c.req.Protocol == "" {
			c.req = req(tcp)
		}
		return c
	}
	runConformance(t, []confCase{
		zt(confCase{name: "2.1 ztunnel: ALLOW rules with HTTP attributes are omitted (policy then denies)", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}], to: [{operation: {methods: ["GET"]}}]}]`,
			want: Deny, wantReason: "no ALLOW rule matched (ALLOW policies: shop/p); shop/p rule 0 is not sent to ztunnel: it has HTTP attributes (methods)"}),
		zt(confCase{name: "2.1 ztunnel drops L7 even for HTTP traffic", policies: allowTo("methods", "GET"), req: req(), want: Deny}),
		zt(confCase{name: "2.1 ztunnel: an L4 rule beside an omitted L7 rule still allows", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - to: [{operation: {paths: ["/x"]}}]
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}]`,
			want: Allow, wantRule: rule(1)}),
		zt(confCase{name: "2.1 ztunnel: DENY with only HTTP attributes has no effect", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: ["POST"]}}]}]`, want: Allow}),
		zt(confCase{name: "2.1 ztunnel: DENY notRequestPrincipals [*] has no effect", policies: denyFrom("notRequestPrincipals", "*"), req: req(tcp, plaintext), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: DENY from X to methods (no ports) is a no-op", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"]}}], to: [{operation: {methods: ["POST"]}}]}]`, want: Allow}),
		zt(confCase{name: "2.1 ztunnel: DENY with ports and methods denies the whole port", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {ports: ["8080"], methods: ["POST"]}}]}]`, want: Deny, wantPolicy: "shop/d"}),
		zt(confCase{name: "2.1 ztunnel: DENY with a request.headers condition is a no-op", policies: `
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec:
  action: DENY
  rules: [{when: [{key: "request.headers[x]", values: ["y"]}]}]`, want: Allow}),
		zt(confCase{name: "2.1 ztunnel: source.serviceAccount counts as HTTP (ALLOW rule omitted)", policies: allowWhen("source.serviceAccount", "shop/web"), want: Deny}),
		zt(confCase{name: "2.1 ztunnel: L4 conditions are converted", policies: allowWhen("destination.port", "8080"), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: ALLOW rule {} allows everything", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec: {rules: [{}]}`, req: req(tcp, plaintext), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: ALLOW without rules denies everything", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec: {}`, want: Deny}),
		zt(confCase{name: "2.1 ztunnel: DENY is checked before ALLOW", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec: {rules: [{}]}
---
kind: AuthorizationPolicy
metadata: {name: d, namespace: shop}
spec: {action: DENY, rules: [{to: [{operation: {ports: ["8080"]}}]}]}`, want: Deny, wantPolicy: "shop/d"}),
		zt(confCase{name: "2.1 ztunnel: no ALLOW policy allows", policies: denyFrom("principals", batch), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: principals need an identity", policies: allowFrom("principals", "*"), req: req(tcp, plaintext), want: Deny}),
		zt(confCase{name: "2.1 ztunnel: notPrincipals match plaintext", policies: allowFrom("notPrincipals", batch), req: req(tcp, plaintext), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: namespaces prefix", policies: allowFrom("namespaces", "sh*"), want: Allow}),
		zt(confCase{name: "2.1 ztunnel: ports", policies: allowTo("ports", "9090"), want: Deny}),
		zt(confCase{name: "2.1 ztunnel: unknown port is undecidable", policies: allowTo("ports", "9090"), req: req(tcp, port(0)), want: Unknown}),
		zt(confCase{name: "2.1 ztunnel: the root namespace applies globally", policies: `
kind: AuthorizationPolicy
metadata: {name: p, namespace: istio-system}
spec: {}`, want: Deny}),
	})
}

func TestConformancePeerAuthentication(t *testing.T) {
	strictNS := `
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}`
	runConformance(t, []confCase{
		{name: "3.1 no PeerAuthentication: PERMISSIVE accepts plaintext", req: req(plaintext), want: Allow},
		{name: "3.1 STRICT rejects plaintext at a sidecar", policies: strictNS, req: req(plaintext), want: Deny,
			wantPolicy: "shop/default", wantReason: "plaintext rejected by STRICT PeerAuthentication shop/default"},
		{name: "3.1 STRICT does not affect mTLS", policies: strictNS, req: req(), want: Allow},
		{name: "3.1 PERMISSIVE plaintext is then evaluated without a principal", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
---` + nsAllowWebOnly, req: req(plaintext), want: Deny, wantReason: "no ALLOW rule matched"},
		{name: "3.1 DISABLE at a sidecar: the request arrives as plaintext", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: DISABLE}}
---` + nsAllowWebOnly, req: req(), want: Deny, wantReason: "sets DISABLE"},
		{name: "3.2 mesh-level STRICT (root namespace, no selector) applies everywhere", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}`, req: req(plaintext), want: Deny, wantPolicy: "istio-system/default"},
		{name: "3.2 namespace PERMISSIVE overrides mesh STRICT", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}`, req: req(plaintext), want: Allow},
		{name: "3.2 namespace UNSET inherits mesh STRICT", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: UNSET}}`, req: req(plaintext), want: Deny, wantPolicy: "istio-system/default"},
		{name: "3.2 workload STRICT overrides namespace PERMISSIVE", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec: {selector: {matchLabels: {app: cart}}, mtls: {mode: STRICT}}`, req: req(plaintext), want: Deny, wantPolicy: "shop/cart"},
		{name: "3.2 workload policy for other labels does not apply", policies: `
kind: PeerAuthentication
metadata: {name: orders, namespace: shop}
spec: {selector: {matchLabels: {app: orders}}, mtls: {mode: STRICT}}`, req: req(plaintext), want: Allow},
		{name: "3.2 a root-namespace PeerAuthentication with a selector is ignored", policies: `
kind: PeerAuthentication
metadata: {name: carts, namespace: istio-system}
spec: {selector: {matchLabels: {app: cart}}, mtls: {mode: STRICT}}`, req: req(plaintext), want: Allow},
		{name: "3.2 the oldest namespace policy wins", policies: `
kind: PeerAuthentication
metadata: {name: b-new, namespace: shop, creationTimestamp: "2026-02-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
---
kind: PeerAuthentication
metadata: {name: z-old, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {mtls: {mode: PERMISSIVE}}`, req: req(plaintext), want: Allow},
		{name: "3.2 equal timestamps: the first by name wins", policies: `
kind: PeerAuthentication
metadata: {name: b, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
---
kind: PeerAuthentication
metadata: {name: a, namespace: shop}
spec: {mtls: {mode: STRICT}}`, req: req(plaintext), want: Deny, wantPolicy: "shop/a"},
		{name: "3.4 port-level PERMISSIVE exempts a target port from STRICT", policies: strictNS + `
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  portLevelMtls: {8080: {mode: PERMISSIVE}}`, req: req(plaintext), want: Allow},
		{name: "3.4 port-level settings leave other ports at the workload mode", policies: strictNS + `
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  portLevelMtls: {9102: {mode: PERMISSIVE}}`, req: req(plaintext), want: Deny},
		{name: "3.4 port-level UNSET inherits the workload mode", policies: `
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: UNSET}}`, req: req(plaintext), want: Deny, wantPolicy: "shop/cart"},
		{name: "3.4 with port-level settings an unknown port is undecidable for plaintext", policies: strictNS + `
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  portLevelMtls: {9102: {mode: PERMISSIVE}}`, req: req(plaintext, port(0)), want: Unknown},
		{name: "3.5 ambient: STRICT rejects plaintext at ztunnel", policies: strictNS, point: Ztunnel, req: req(tcp, plaintext), want: Deny, wantPolicy: "shop/default"},
		{name: "3.5 ambient: STRICT does not affect mTLS", policies: strictNS, point: Ztunnel, req: req(tcp), want: Allow},
		{name: "3.5 ambient: DISABLE is ignored (not STRICT)", policies: `
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: DISABLE}}
---` + nsAllowWebOnly, point: Ztunnel, req: req(tcp), want: Allow},
		{name: "3.5 ambient: a port-level PERMISSIVE exception under workload STRICT", policies: `
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: PERMISSIVE}}`, point: Ztunnel, req: req(tcp, plaintext), want: Allow},
		{name: "3.5 ambient: other ports stay STRICT under a port-level exception", policies: `
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  mtls: {mode: STRICT}
  portLevelMtls: {9102: {mode: PERMISSIVE}}`, point: Ztunnel, req: req(tcp, plaintext), want: Deny, wantPolicy: "shop/cart"},
		{name: "3.5 ambient: a port-level STRICT under a PERMISSIVE workload", policies: `
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls: {8080: {mode: STRICT}}`, point: Ztunnel, req: req(tcp, plaintext), want: Deny},
		{name: "3.5 ambient: a DISABLE port under an UNSET workload inheriting STRICT is not exempted", policies: strictNS + `
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  portLevelMtls: {8080: {mode: DISABLE}}`, point: Ztunnel, req: req(tcp, plaintext), want: Deny},
		{name: "3.5 ambient: a PERMISSIVE port under an UNSET workload inheriting STRICT is exempted", policies: strictNS + `
---
kind: PeerAuthentication
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  portLevelMtls: {8080: {mode: PERMISSIVE}}`, point: Ztunnel, req: req(tcp, plaintext), want: Allow},
		{name: "3.5 ambient: plaintext that passes is evaluated without a principal", policies: nsAllowWebOnly, point: Ztunnel, req: req(tcp, plaintext), want: Deny},
	})
}
