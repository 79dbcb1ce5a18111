package eval

import (
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"sigs.k8s.io/yaml"
)

// mustSet builds a PolicySet from a YAML stream of AuthorizationPolicies and
// PeerAuthentications.
func mustSet(t testing.TB, docs string) *PolicySet {
	t.Helper()
	ps := &PolicySet{}
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("parsing test policy: %v\n%s", err, doc)
		}
		switch head.Kind {
		case "AuthorizationPolicy":
			ap := &securityv1.AuthorizationPolicy{}
			if err := yaml.UnmarshalStrict([]byte(doc), ap); err != nil {
				t.Fatalf("parsing test policy: %v\n%s", err, doc)
			}
			ps.AuthorizationPolicies = append(ps.AuthorizationPolicies, ap)
		case "PeerAuthentication":
			pa := &securityv1.PeerAuthentication{}
			if err := yaml.UnmarshalStrict([]byte(doc), pa); err != nil {
				t.Fatalf("parsing test policy: %v\n%s", err, doc)
			}
			ps.PeerAuthentications = append(ps.PeerAuthentications, pa)
		default:
			t.Fatalf("test policy of kind %q", head.Kind)
		}
	}
	return ps
}

const (
	web     = "cluster.local/ns/shop/sa/web"
	batch   = "cluster.local/ns/batch/sa/job"
	other   = "cluster.local/ns/shop/sa/other"
	foreign = "example.org/ns/shop/sa/web"
)

// baseReq is an HTTP request from shop/web to shop/cart on target port 8080.
func baseReq() Request {
	return Request{
		Principal:      web,
		SourceIP:       "10.0.0.5",
		Namespace:      "shop",
		WorkloadLabels: map[string]string{"app": "cart", "version": "v1"},
		Service:        "cart",
		Port:           8080,
		Protocol:       "http",
		Method:         "GET",
		Path:           "/cart/items",
		Host:           "cart.shop.svc.cluster.local",
	}
}

func req(mods ...func(*Request)) Request {
	r := baseReq()
	for _, m := range mods {
		m(&r)
	}
	return r
}

func plaintext(r *Request) { r.Principal, r.SourceNamespace = "", "" }
func tcp(r *Request)       { r.Protocol, r.Method, r.Path, r.Host = "tcp", "", "", "" }
func principal(p string) func(*Request) {
	return func(r *Request) { r.Principal, r.SourceNamespace = p, "" }
}
func port(p int) func(*Request)         { return func(r *Request) { r.Port = p } }
func method(m string) func(*Request)    { return func(r *Request) { r.Method = m } }
func path(p string) func(*Request)      { return func(r *Request) { r.Path = p } }
func host(h string) func(*Request)      { return func(r *Request) { r.Host = h } }
func sourceIP(ip string) func(*Request) { return func(r *Request) { r.SourceIP = ip } }
func service(s string) func(*Request)   { return func(r *Request) { r.Service = s } }
func namespace(n string) func(*Request) { return func(r *Request) { r.Namespace = n } }
func protocol(p string) func(*Request)  { return func(r *Request) { r.Protocol = p } }
func waypoint(name string) func(*Request) {
	return func(r *Request) { r.WaypointName = name }
}
func labels(kv ...string) func(*Request) {
	return func(r *Request) {
		r.WorkloadLabels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.WorkloadLabels[kv[i]] = kv[i+1]
		}
	}
}
