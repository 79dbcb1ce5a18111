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
// that a repeated value costs one map lookup without allocation. Every name
// it returns is interned in the run's symbols, with its ID.
type resolver struct {
	idx  *snapshot.Index
	td   string
	syms *symbols
	// byName lists the inventory's workloads by name, across namespaces, for
	// pod names whose namespace the line does not say.
	byName map[string][]*snapshot.Workload

	ips        map[string]wlRef
	ip4s       map[uint32]wlRef // ips in canonical dotted-quad form
	workloads  map[*snapshot.Workload]wlRef
	svcOnly    map[*snapshot.Service]wlRef
	principals map[string]principal
	pods       map[string]podWorkload
	inputPods  map[*Pod]podWorkload
	strs       map[string]sym
	// key is scratch space for building cache keys.
	key []byte
}

type principal struct {
	// p is the AuthorizationPolicy form (empty when the value is no identity).
	p  sym
	ns sym
}

// wlRef is an inventory workload (w nil when there is none) with the IDs
// of its namespace, its name and the principal of its service account (0
// when it has none).
type wlRef struct {
	w                  *snapshot.Workload
	ns, name, inferred uint32
}

func (r wlRef) namespace() sym { return sym{r.ns, r.w.Namespace} }
func (r wlRef) workload() sym  { return sym{r.name, r.w.Name} }

type podWorkload struct {
	ns, name sym
	w        *snapshot.Workload
}

func newResolver(idx *snapshot.Index, td string, byName map[string][]*snapshot.Workload, syms *symbols) *resolver {
	return &resolver{
		idx: idx, td: td, byName: byName, syms: syms,
		ips:        map[string]wlRef{},
		ip4s:       map[uint32]wlRef{},
		workloads:  map[*snapshot.Workload]wlRef{},
		svcOnly:    map[*snapshot.Service]wlRef{},
		principals: map[string]principal{},
		pods:       map[string]podWorkload{},
		inputPods:  map[*Pod]podWorkload{},
		strs:       map[string]sym{},
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
func (r *resolver) str(b []byte) (sym, bool) {
	if s, ok := r.strs[string(b)]; ok {
		return s, true
	}
	if !utf8.Valid(b) {
		return sym{}, false
	}
	if len(r.strs) >= cacheLimit {
		clear(r.strs)
	}
	s := r.syms.intern(b)
	r.strs[s.s] = s
	return s, true
}

// name interns a string that is valid UTF-8 or that comes from the
// inventory (whose names a snapshot carries as they are).
func (r *resolver) name(s string) sym {
	if v, ok := r.strs[s]; ok {
		return v
	}
	if len(r.strs) >= cacheLimit {
		clear(r.strs)
	}
	v := r.syms.internString(s)
	r.strs[v.s] = v
	return v
}

// workload returns w with its interned names.
func (r *resolver) workload(w *snapshot.Workload) wlRef {
	if w == nil {
		return wlRef{}
	}
	if ref, ok := r.workloads[w]; ok {
		return ref
	}
	ref := wlRef{w: w, ns: r.syms.internString(w.Namespace).id, name: r.syms.internString(w.Name).id}
	if w.ServiceAccount != "" {
		ref.inferred = r.name(snapshot.Principal{TrustDomain: r.td, Namespace: w.Namespace, ServiceAccount: w.ServiceAccount}.String()).id
	}
	r.workloads[w] = ref
	return ref
}

// workloadByIP returns the inventory workload with pod IP ip, if any.
// Addresses in canonical dotted-quad form, which are spelt one way only, are
// cached by their value, which is cheaper to hash than their text.
func (r *resolver) workloadByIP(ip []byte) wlRef {
	if len(ip) == 0 {
		return wlRef{}
	}
	if v, ok := canonicalIPv4(ip); ok {
		if w, ok := r.ip4s[v]; ok {
			return w
		}
		w := r.workload(r.idx.WorkloadByIP(string(ip)))
		if len(r.ip4s) >= cacheLimit {
			clear(r.ip4s)
		}
		r.ip4s[v] = w
		return w
	}
	if w, ok := r.ips[string(ip)]; ok {
		return w
	}
	w := r.workload(r.idx.WorkloadByIP(string(ip)))
	if len(r.ips) >= cacheLimit {
		clear(r.ips)
	}
	r.ips[string(ip)] = w
	return w
}

// canonicalIPv4 returns the value of an IPv4 address written as four
// decimal numbers from 0 to 255 without leading zeros, separated by dots;
// ok is false for anything else.
func canonicalIPv4(b []byte) (v uint32, ok bool) {
	i := 0
	for octet := range 4 {
		if octet > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0, false
			}
			i++
		}
		start, n := i, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 3 {
			n = n*10 + int(b[i]-'0')
			i++
		}
		if i == start || n > 255 || b[start] == '0' && i-start > 1 {
			return 0, false
		}
		v = v<<8 | uint32(n)
	}
	if i != len(b) {
		return 0, false
	}
	return v, true
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
		out = principal{p: r.name(pp.String()), ns: r.name(pp.Namespace)}
	}
	if len(r.principals) >= cacheLimit {
		clear(r.principals)
	}
	r.principals[string(b)] = out
	return out
}

// inputPod returns the workload of the pod an input was read from
// (--from-pods), which names its workload.
func (r *resolver) inputPod(p *Pod) podWorkload {
	if pw, ok := r.inputPods[p]; ok {
		return pw
	}
	pw := podWorkload{ns: r.name(p.Namespace), name: r.name(p.Workload), w: r.idx.Workload(p.Namespace, p.Workload)}
	r.inputPods[p] = pw
	return pw
}

// pod returns the workload of a pod: by the inventory when it knows a
// workload that the pod name (with its ReplicaSet and pod hashes removed)
// names, else by the name alone. ns may be empty (a `kubectl logs --prefix`
// line does not say it); the inventory is then searched in every namespace
// and the namespace stays empty unless exactly one workload matches.
func (r *resolver) pod(ns sym, name []byte) podWorkload {
	r.key = append(r.key[:0], ns.s...)
	if ns.s != "" {
		r.key = append(r.key, '/')
	}
	r.key = append(r.key, name...)
	if p, ok := r.pods[string(r.key)]; ok {
		return p
	}
	key := string(r.key)
	pn := string(name)
	out := podWorkload{ns: ns}
	found := false
	for _, cand := range podNameCandidates(pn) {
		if cand == "" {
			continue
		}
		if ns.s != "" {
			if w := r.idx.Workload(ns.s, cand); w != nil {
				out = podWorkload{ns: ns, name: r.name(w.Name), w: w}
				found = true
				break
			}
			continue
		}
		if ws := r.byName[cand]; len(ws) == 1 {
			out = podWorkload{ns: r.name(ws[0].Namespace), name: r.name(ws[0].Name), w: ws[0]}
			found = true
			break
		} else if len(ws) > 1 {
			out.name = r.name(cand)
			found = true
			break
		}
	}
	if !found {
		out.name = r.name(workloadFromPodName(pn))
	}
	if !utf8.ValidString(out.name.s) {
		out.name = sym{}
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
// exactly one, else none.
func (r *resolver) onlyWorkload(s *snapshot.Service) wlRef {
	if s == nil {
		return wlRef{}
	}
	if w, ok := r.svcOnly[s]; ok {
		return w
	}
	var w wlRef
	if ws := r.idx.WorkloadsOfService(s.Namespace, s.Name); len(ws) == 1 {
		w = r.workload(ws[0])
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
