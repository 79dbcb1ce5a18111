package accesslog

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// cacheLimit bounds each of a worker's caches; a cache that grows past it
// (a flood of distinct client addresses or paths) is cleared.
const cacheLimit = 1 << 16

// resolver maps what a line says (addresses, SANs, pod names, hosts) to
// workloads and principals, through the inventory, with per-worker caches so
// that a repeated value costs one map lookup without allocation.
type resolver struct {
	idx *snapshot.Index
	td  string
	// byName lists the inventory's workloads by name, across namespaces, for
	// pod names whose namespace the line does not say.
	byName map[string][]*snapshot.Workload

	ips        map[string]*snapshot.Workload
	inferredP  map[*snapshot.Workload]string
	svcOnly    map[*snapshot.Service]*snapshot.Workload
	principals map[string]principal
	pods       map[string]podWorkload
	strs       map[string]string
}

type principal struct {
	// p is the AuthorizationPolicy form ("" when the value is no identity).
	p  string
	ns string
}

type podWorkload struct {
	ns, name string
	w        *snapshot.Workload
}

func newResolver(idx *snapshot.Index, td string, byName map[string][]*snapshot.Workload) *resolver {
	return &resolver{
		idx: idx, td: td, byName: byName,
		ips:        map[string]*snapshot.Workload{},
		inferredP:  map[*snapshot.Workload]string{},
		svcOnly:    map[*snapshot.Service]*snapshot.Workload{},
		principals: map[string]principal{},
		pods:       map[string]podWorkload{},
		strs:       map[string]string{},
	}
}

func workloadsByName(idx *snapshot.Index) map[string][]*snapshot.Workload {
	m := map[string][]*snapshot.Workload{}
	inv := idx.Inventory()
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		m[w.Name] = append(m[w.Name], w)
	}
	return m
}

// str interns b. It returns ok=false when b is not valid UTF-8: such a value
// would be changed by the snapshot's JSON encoding, so the line is malformed.
func (r *resolver) str(b []byte) (string, bool) {
	if s, ok := r.strs[string(b)]; ok {
		return s, true
	}
	if !utf8.Valid(b) {
		return "", false
	}
	if len(r.strs) >= cacheLimit {
		clear(r.strs)
	}
	s := string(b)
	r.strs[s] = s
	return s, true
}

// upper interns b in upper case (HTTP methods).
func (r *resolver) upper(b []byte) (string, bool) {
	lower := false
	for _, c := range b {
		if c >= 'a' && c <= 'z' {
			lower = true
			break
		}
	}
	if !lower {
		return r.str(b)
	}
	return r.str(bytes.ToUpper(b))
}

// workloadByIP returns the inventory workload with pod IP ip, or nil.
func (r *resolver) workloadByIP(ip []byte) *snapshot.Workload {
	if len(ip) == 0 {
		return nil
	}
	if w, ok := r.ips[string(ip)]; ok {
		return w
	}
	w := r.idx.WorkloadByIP(string(ip))
	if len(r.ips) >= cacheLimit {
		clear(r.ips)
	}
	r.ips[string(ip)] = w
	return w
}

// principal normalizes a SAN or identity ("spiffe://td/ns/x/sa/y").
func (r *resolver) principal(b []byte) principal {
	if len(b) == 0 {
		return principal{}
	}
	if p, ok := r.principals[string(b)]; ok {
		return p
	}
	var out principal
	if pp, err := snapshot.ParsePrincipal(string(b)); err == nil && utf8.Valid(b) {
		out = principal{p: pp.String(), ns: pp.Namespace}
	}
	if len(r.principals) >= cacheLimit {
		clear(r.principals)
	}
	r.principals[string(b)] = out
	return out
}

// inferred returns the principal of an inventory workload, from its service
// account, or "".
func (r *resolver) inferred(w *snapshot.Workload) string {
	if w == nil || w.ServiceAccount == "" {
		return ""
	}
	if p, ok := r.inferredP[w]; ok {
		return p
	}
	p := snapshot.Principal{TrustDomain: r.td, Namespace: w.Namespace, ServiceAccount: w.ServiceAccount}.String()
	r.inferredP[w] = p
	return p
}

// pod returns the workload of a pod: by the inventory when it knows a
// workload that the pod name (with its ReplicaSet and pod hashes removed)
// names, else by the name alone. ns may be empty (a `kubectl logs --prefix`
// line does not say it); the inventory is then searched in every namespace
// and the namespace stays empty unless exactly one workload matches.
func (r *resolver) pod(ns string, name []byte) podWorkload {
	key := string(name)
	if ns != "" {
		key = ns + "/" + key
	}
	if p, ok := r.pods[key]; ok {
		return p
	}
	pn := string(name)
	out := podWorkload{ns: ns}
	found := false
	for _, cand := range podNameCandidates(pn) {
		if cand == "" {
			continue
		}
		if ns != "" {
			if w := r.idx.Workload(ns, cand); w != nil {
				out = podWorkload{ns: ns, name: w.Name, w: w}
				found = true
				break
			}
			continue
		}
		if ws := r.byName[cand]; len(ws) == 1 {
			out = podWorkload{ns: ws[0].Namespace, name: ws[0].Name, w: ws[0]}
			found = true
			break
		} else if len(ws) > 1 {
			out.name = cand
			found = true
			break
		}
	}
	if !found {
		out.name = workloadFromPodName(pn)
	}
	if !utf8.ValidString(out.name) {
		out.name = ""
	}
	if len(r.pods) >= cacheLimit {
		clear(r.pods)
	}
	r.pods[key] = out
	return out
}

// podNameCandidates returns the workload names a pod name may stand for,
// most specific first: without the ReplicaSet and pod hashes (Deployment),
// without the last part (DaemonSet, Job, StatefulSet), and the name itself
// (a bare pod).
func podNameCandidates(pod string) []string {
	out := []string{workloadFromPodName(pod)}
	parts := strings.Split(pod, "-")
	if n := len(parts); n >= 3 {
		out = append(out, strings.Join(parts[:n-2], "-"))
	}
	if n := len(parts); n >= 2 {
		out = append(out, strings.Join(parts[:n-1], "-"))
	}
	out = append(out, pod)
	for i := 1; i < len(out); i++ {
		if out[i] == out[0] {
			out[i] = ""
		}
	}
	return out
}

// workloadFromPodName guesses the workload name Istio reports for a pod from
// its name alone (Istio derives it from the owner references, which a log
// line does not carry):
//   - "<name>-<pod-template-hash>-<5 chars>" is a Deployment's pod;
//   - "<name>-<8 to 10 digits>-<5 chars>" is a CronJob's (Istio names the
//     CronJob);
//   - "<name>-<5 chars>" is a DaemonSet's or a Job's;
//   - "<name>-<ordinal>" is a StatefulSet's;
//   - anything else is a bare pod, named after itself.
//
// The hashes use Kubernetes' alphabet "bcdfghjklmnpqrstvwxz2456789", which
// keeps most real names (with vowels) from looking like hashes.
func workloadFromPodName(pod string) string {
	parts := strings.Split(pod, "-")
	n := len(parts)
	if n >= 3 && isHash(parts[n-1], 5, 5) {
		prev := parts[n-2]
		if isDigits(prev) && len(prev) >= 8 && len(prev) <= 10 {
			return strings.Join(parts[:n-2], "-")
		}
		if isHash(prev, 6, 10) {
			return strings.Join(parts[:n-2], "-")
		}
	}
	if n >= 2 && (isHash(parts[n-1], 5, 5) || isDigits(parts[n-1]) && len(parts[n-1]) <= 5) {
		return strings.Join(parts[:n-1], "-")
	}
	return pod
}

func isHash(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", rune(s[i])) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// service looks up a Service host ("reviews.shop.svc.cluster.local").
func (r *resolver) service(host string) *snapshot.Service {
	if host == "" {
		return nil
	}
	return r.idx.ServiceByHost(host)
}

// onlyWorkload returns the workload a Service selects when it selects
// exactly one, else nil.
func (r *resolver) onlyWorkload(s *snapshot.Service) *snapshot.Workload {
	if s == nil {
		return nil
	}
	if w, ok := r.svcOnly[s]; ok {
		return w
	}
	var w *snapshot.Workload
	if ws := r.idx.WorkloadsOfService(s.Namespace, s.Name); len(ws) == 1 {
		w = ws[0]
	}
	r.svcOnly[s] = w
	return w
}

// hostNamespace returns the namespace of a Kubernetes Service host
// ("name.ns.svc..." or "name.ns"), or "".
func hostNamespace(host []byte) []byte {
	i := bytes.IndexByte(host, '.')
	if i < 0 {
		return nil
	}
	rest := host[i+1:]
	j := bytes.IndexByte(rest, '.')
	if j < 0 {
		return nil
	}
	if !bytes.HasPrefix(rest[j:], []byte(".svc")) {
		return nil
	}
	return rest[:j]
}

// splitAddr splits "ip:port", "[ipv6]:port", "ip", or the Envoy internal
// forms "envoy://connect_originate/ip:port" and "envoy://inbound-pod|9080||ip/"
// into the IP and the port (0 when absent). Values that are not an address
// ("envoy://internal_client_address/", "-") give no IP.
func splitAddr(a []byte) (ip []byte, port int) {
	if len(a) == 0 {
		return nil, 0
	}
	if bytes.HasPrefix(a, []byte("envoy://")) {
		a = bytes.TrimSuffix(a[len("envoy://"):], []byte("/"))
		if i := bytes.LastIndexByte(a, '/'); i >= 0 {
			a = a[i+1:]
		} else if i := bytes.LastIndexByte(a, '|'); i >= 0 {
			// inbound-pod|9080||10.244.2.9: port in the second part.
			parts := bytes.Split(a, []byte("|"))
			if len(parts) == 4 {
				p, _ := strconv.Atoi(string(parts[1]))
				if isIP(parts[3]) {
					return parts[3], p
				}
			}
			return nil, 0
		} else {
			return nil, 0
		}
	}
	if a[0] == '[' {
		end := bytes.IndexByte(a, ']')
		if end < 0 {
			return nil, 0
		}
		ip = a[1:end]
		if end+1 < len(a) && a[end+1] == ':' {
			port = portOf(a[end+2:])
		}
		if !isIP(ip) {
			return nil, 0
		}
		return ip, port
	}
	if c := bytes.Count(a, []byte(":")); c == 1 {
		i := bytes.IndexByte(a, ':')
		ip, port = a[:i], portOf(a[i+1:])
	} else {
		ip = a // no port, or a bare IPv6 address
	}
	if !isIP(ip) {
		return nil, 0
	}
	return ip, port
}

// isIP is a cheap check that b looks like an IPv4 or IPv6 address.
func isIP(b []byte) bool {
	if len(b) == 0 || len(b) > 45 {
		return false
	}
	dots, colons := 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			if dots > 0 {
				return false
			}
		default:
			return false
		}
	}
	return dots == 3 && colons == 0 || colons >= 2
}

// atoi reads a non-negative decimal of at most 9 digits; -1 when b is not one.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// portOf reads a port number; 0 when b is not one.
func portOf(b []byte) int {
	p := atoi(b)
	if p < 1 || p > 65535 {
		return 0
	}
	return p
}
