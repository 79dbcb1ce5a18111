package accesslog

import (
	"bytes"
	"math/bits"
	"unicode/utf8"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// Evidence bits of an entry.
const (
	evEnvoy uint8 = 1 << iota
	evWaypoint
	evZtunnel
)

// Reporters, protocols and identity origins of an entry, numbered in the
// order of their strings (so that keys sort as snapshot.CompareKeys sorts).
const (
	repNone uint8 = iota
	repDestination
	repSource
	repWaypoint
)

const (
	protoNone uint8 = iota
	protoGRPC
	protoHTTP
	protoTCP
)

const (
	idNone uint8 = iota
	idCertificate
	idPodIP
)

var (
	reporterNames = [...]string{"", snapshot.ReporterDestination, snapshot.ReporterSource, snapshot.ReporterWaypoint}
	protocolNames = [...]string{"", snapshot.ProtocolGRPC, snapshot.ProtocolHTTP, snapshot.ProtocolTCP}
	identityNames = [...]string{"", snapshot.IdentityCertificate, snapshot.IdentityPodIP}
)

// key is snapshot.Key with every string interned in the run's symbols: what
// an edge is, in 48 bytes without pointers.
type key struct {
	port                                           int
	srcPrincipal, srcNamespace, srcWorkload, srcIP uint32
	dstNamespace, dstWorkload, dstService          uint32
	method, path                                   uint32
	reporter, protocol                             uint8
	pathPrefix                                     bool
}

// hashKey hashes a key for the chunk aggregator's table (wyhash's mixing).
func hashKey(k *key) uint64 {
	h := mix(uint64(k.srcPrincipal)|uint64(k.srcNamespace)<<32, uint64(k.srcWorkload)|uint64(k.srcIP)<<32)
	h = mix(h^(uint64(k.dstNamespace)|uint64(k.dstWorkload)<<32), uint64(k.dstService)|uint64(k.method)<<32)
	var prefix uint64
	if k.pathPrefix {
		prefix = 1
	}
	return mix(h^(uint64(k.path)|uint64(k.reporter)<<32|uint64(k.protocol)<<40|prefix<<48), uint64(k.port))
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)
	return hi ^ lo
}

// entry is one edge while it is being aggregated. It holds no pointer but
// the tables its IDs refer to (the same for every entry of a chunk, and for
// every merged entry of a run).
type entry struct {
	key          key
	counts       snapshot.Counts
	first, last  int64
	dstPrincipal uint32
	identityFrom uint8
	evidence     uint8
	// h is hashKey(&key).
	h    uint64
	tabs *tables
}

// source is the caller of an entry, by IDs.
type source struct {
	principal, namespace, workload, ip uint32
	identityFrom                       uint8
}

// lineCtx is what the line's surroundings say about it.
type lineCtx struct {
	// pod is the pod the input was read from (--from-pods), or nil.
	pod *Pod
	// prefixPod is the pod named by a `kubectl logs --prefix` prefix.
	prefixPod []byte
}

// foldResult says what became of a parsed line.
type foldResult uint8

const (
	foldOK foldResult = iota
	// foldSkip: a record that is not a call (a waypoint's internal hop).
	foldSkip
	// foldUnresolved: the destination workload could not be determined.
	foldUnresolved
	// foldMalformed: a value that cannot be used (invalid UTF-8).
	foldMalformed
)

// side is where on the path an Envoy line was logged.
type side uint8

const (
	sideInbound side = iota
	sideOutbound
	sideWaypoint
)

// cluster is a parsed upstream cluster name.
type cluster struct {
	kind []byte // "inbound", "outbound", "inbound-vip", "inbound-pod", or a special name
	port int
	// proto is the third part: the subset of an outbound cluster, the
	// protocol ("http", "tcp", "internal") of an inbound-vip one.
	proto []byte
	host  []byte
}

func parseCluster(c []byte) cluster {
	if i := bytes.IndexByte(c, ';'); i >= 0 {
		c = c[:i]
	}
	var out cluster
	i := bytes.IndexByte(c, '|')
	if i < 0 {
		out.kind = c
		return out
	}
	out.kind = c[:i]
	rest := c[i+1:]
	for part := 0; ; part++ {
		j := bytes.IndexByte(rest, '|')
		v := rest
		if j >= 0 {
			v = rest[:j]
		}
		switch part {
		case 0:
			out.port = portOf(v)
		case 1:
			out.proto = v
		case 2:
			out.host = v
		}
		if j < 0 {
			break
		}
		rest = rest[j+1:]
	}
	if i := bytes.IndexByte(out.proto, '/'); i >= 0 {
		out.proto = out.proto[:i] // "http/<subset>" at waypoints
	}
	return out
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// envoySide classifies an Envoy line by its upstream cluster: "inbound|" is
// a sidecar's (or gateway's) server side, "outbound|" and the passthrough
// clusters its client side, "inbound-vip|" and "inbound-pod|" a waypoint.
// Without a cluster, a peer certificate, an mTLS server name or an RBAC
// denial (all only seen on the server side) make it inbound.
func envoySide(r *record, c cluster, lc *lineCtx) side {
	switch string(c.kind) {
	case "inbound-vip", "inbound-pod":
		return sideWaypoint
	case "inbound", "InboundPassthroughCluster", "InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6":
		return sideInbound
	case "outbound", "PassthroughCluster", "BlackHoleCluster":
		return sideOutbound
	}
	if lc.pod != nil && lc.pod.Role == RoleWaypoint || hasPrefix(r.get(fUpstreamHost), "envoy://connect_originate/") {
		return sideWaypoint
	}
	if hasPrefix(r.get(fSNI), "outbound_") || r.get(fPeerSAN) != nil ||
		hasPrefix(r.get(fResponseCodeDetails), "rbac_access_denied") || hasPrefix(r.get(fConnTermDetails), "rbac_access_denied") {
		return sideInbound
	}
	return sideOutbound
}

// operation reads protocol, method and path. Lines without a method are TCP.
// gRPC is recognised by a content type starting with application/grpc when
// the format carries it, and otherwise by the shape of the call: POST over
// HTTP/2 to "/<package>.<Service>/<Method>" (a first segment with a dot and
// exactly two segments), which is how every gRPC call looks and few other
// requests do. The method (in upper case) and the path are left in
// w.method and w.path, checked to be valid UTF-8; emit interns them once
// the line has made an edge.
func (w *worker) operation(r *record) (proto uint8, ok bool) {
	w.method, w.path = nil, nil
	m := r.get(fMethod)
	if m == nil {
		return protoTCP, true
	}
	if m, ok = w.upper(m); !ok {
		return 0, false
	}
	p := r.get(fPath)
	if i := bytes.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if !utf8.Valid(p) {
		return 0, false
	}
	w.method, w.path = m, p
	proto = protoHTTP
	if r.has(fContentType) {
		if hasPrefix(r.get(fContentType), "application/grpc") {
			proto = protoGRPC
		}
	} else if string(m) == "POST" && hasPrefix(r.get(fProtocol), "HTTP/2") && grpcPath(p) {
		proto = protoGRPC
	}
	return proto, true
}

// upper returns b in upper case (HTTP methods); ok is false when the result
// is not valid UTF-8 (bytes.ToUpper, used when b has lower-case letters,
// replaces invalid bytes).
func (w *worker) upper(b []byte) ([]byte, bool) {
	for _, c := range b {
		if c >= 'a' && c <= 'z' {
			b = bytes.ToUpper(b)
			break
		}
	}
	return b, utf8.Valid(b)
}

func grpcPath(p []byte) bool {
	if len(p) < 4 || p[0] != '/' {
		return false
	}
	i := bytes.IndexByte(p[1:], '/')
	if i <= 0 {
		return false
	}
	svc, m := p[1:1+i], p[2+i:]
	return len(m) > 0 && bytes.IndexByte(m, '/') < 0 && bytes.IndexByte(svc, '.') > 0 && svc[len(svc)-1] != '.'
}

// envoyCounts reads the outcome of an Envoy line. A request is denied by
// policy when Envoy's RBAC filter answered it (response code details or, for
// TCP, connection termination details starting with rbac_access_denied,
// e.g. rbac_access_denied_matched_policy[ns[shop]-policy[deny]-rule[0]]), or
// when an ext_authz (CUSTOM) provider denied it. Other 401 and 403 answers
// came from the application.
func envoyCounts(r *record) snapshot.Counts {
	c := snapshot.Counts{Requests: 1}
	code := atoi(r.get(fResponseCode))
	details := r.get(fResponseCodeDetails)
	denied := hasPrefix(details, "rbac_access_denied") || hasPrefix(r.get(fConnTermDetails), "rbac_access_denied") ||
		hasPrefix(details, "ext_authz_denied") || bytes.Contains(r.get(fResponseFlags), []byte("UAEX"))
	switch {
	case denied:
		c.Denied = 1
	case code == 401 || code == 403:
		c.Unauthorized = 1
	}
	if code >= 500 && code <= 599 {
		c.ServerErrors = 1
	}
	return c
}

// pod returns the workload of the pod the line was read from, for lines of a
// sidecar or gateway (a waypoint's or ztunnel's pod is neither end of the
// calls it logs).
func (w *worker) pod(lc *lineCtx) (podWorkload, bool) {
	if lc.prefixPod != nil {
		var ns sym
		if lc.pod != nil {
			ns = w.res.name(lc.pod.Namespace)
		}
		return w.res.pod(ns, lc.prefixPod), true
	}
	if lc.pod == nil || lc.pod.Role == RoleWaypoint || lc.pod.Role == RoleZtunnel {
		return podWorkload{}, false
	}
	if lc.pod.Workload != "" {
		return w.res.inputPod(lc.pod), true
	}
	return w.res.pod(w.res.name(lc.pod.Namespace), []byte(lc.pod.Name)), true
}

// source builds the caller from a certificate principal (when the line has
// one) or the peer address mapped through the inventory. infer says whether
// the connection may have been mTLS, so that a principal may be inferred
// from the workload's service account.
func (w *worker) source(cert principal, ip []byte, infer bool) (source, bool) {
	wl := w.res.workloadByIP(ip)
	if cert.p.id != 0 {
		s := source{principal: cert.p.id, namespace: cert.ns.id, identityFrom: idCertificate}
		if wl.w != nil && wl.ns == cert.ns.id {
			s.workload = wl.name
		}
		return s, true
	}
	if wl.w != nil {
		s := source{namespace: wl.ns, workload: wl.name}
		if infer && wl.inferred != 0 {
			s.principal, s.identityFrom = wl.inferred, idPodIP
		}
		return s, true
	}
	ipStr, ok := w.res.str(ip)
	return source{ip: ipStr.id}, ok
}

func unresolvedSource(s *source) bool {
	return s.principal == 0 && s.workload == 0
}

// foldEnvoy turns an Envoy line into an entry.
func (w *worker) foldEnvoy(r *record, lc *lineCtx) foldResult {
	c := parseCluster(r.get(fUpstreamCluster))
	sd := envoySide(r, c, lc)
	e := &w.e
	*e = entry{evidence: evEnvoy}
	if sd == sideWaypoint {
		e.evidence = evWaypoint
	}
	proto, ok := w.operation(r)
	if !ok {
		return foldMalformed
	}
	e.counts = envoyCounts(r)
	e.key.protocol = proto
	switch sd {
	case sideInbound:
		return w.envoyInbound(r, c, lc, e)
	case sideWaypoint:
		if string(c.proto) == "internal" {
			return foldSkip // the waypoint's outer HBONE hop, logged as CONNECT
		}
		return w.envoyWaypoint(r, c, e)
	}
	return w.envoyOutbound(r, c, lc, e)
}

func (w *worker) localAddr(r *record) (ip []byte, port int) {
	ip, port = splitAddr(r.get(fDownstreamLocal))
	if ip == nil {
		ip, _ = splitAddr(r.get(fDownstreamLocalIP))
	}
	if port == 0 {
		port = portOf(r.get(fDownstreamLocalPort))
	}
	return ip, port
}

func (w *worker) remoteIP(r *record) []byte {
	ip, _ := splitAddr(r.get(fDownstreamRemote))
	if ip == nil {
		ip, _ = splitAddr(r.get(fDownstreamDirect))
	}
	return ip
}

// sniHost returns the Service host of an Istio mTLS server name,
// "outbound_.8000_._.httpbin.foo.svc.cluster.local".
func sniHost(sni []byte) []byte {
	if !hasPrefix(sni, "outbound_.") {
		return nil
	}
	rest := sni[len("outbound_."):]
	for range 2 { // skip "<port>_." and "<subset>_."
		i := bytes.Index(rest, []byte("_."))
		if i < 0 {
			return nil
		}
		rest = rest[i+2:]
	}
	if len(rest) == 0 {
		return nil
	}
	return rest
}

// authorityHost returns the host of an :authority that names a Kubernetes
// Service by its full name, without the port.
func authorityHost(a []byte) []byte {
	if i := bytes.LastIndexByte(a, ':'); i >= 0 && bytes.IndexByte(a, ']') < i {
		a = a[:i]
	}
	if hostNamespace(a) == nil {
		return nil
	}
	return a
}

// envoyInbound: a sidecar's (or gateway's) server side. The destination is
// the pod the line was read from, else the local address through the
// inventory; the caller is the peer certificate, else the peer address
// through the inventory (weaker: identityFrom pod-ip).
func (w *worker) envoyInbound(r *record, c cluster, lc *lineCtx, e *entry) foldResult {
	e.key.reporter = repDestination
	lip, lport := w.localAddr(r)
	local := w.res.principal(r.get(fLocalSAN))
	svcHost := sniHost(r.get(fSNI))
	if svcHost == nil {
		svcHost = authorityHost(r.get(fAuthority))
	}
	var ns, name sym
	if pw, ok := w.pod(lc); ok {
		ns, name = pw.ns, pw.name
	}
	if name.s == "" || ns.s == "" {
		if wl := w.res.workloadByIP(lip); wl.w != nil && (name.s == "" || wl.name == name.id) {
			ns, name = wl.namespace(), wl.workload()
		}
	}
	if name.s != "" && ns.s == "" {
		switch {
		case local.ns.s != "":
			ns = local.ns
		case hostNamespace(svcHost) != nil:
			ns, _ = w.res.str(hostNamespace(svcHost))
		}
	}
	if name.s == "" || ns.s == "" {
		w.unresolved(lip, svcHost)
		return foldUnresolved
	}
	svc, ok := w.res.str(svcHost)
	if !ok {
		return foldMalformed
	}
	e.key.dstNamespace, e.key.dstWorkload, e.key.dstService = ns.id, name.id, svc.id
	e.dstPrincipal = local.p.id

	// The port is the target port: the local address on the server side,
	// else the upstream host (the application's address), else the cluster's
	// port (the target port since Istio 1.10).
	port := lport
	if port == 0 {
		_, port = splitAddr(r.get(fUpstreamHost))
	}
	if port == 0 {
		port = c.port
	}
	e.key.port = port

	// Transport security as the server saw it: the peer certificate when the
	// format carries it ("-" is plaintext), else the server name Istio's
	// clients send over mTLS ("outbound_...").
	mtls, known := false, false
	peerRaw := r.get(fPeerSAN)
	if peerRaw == nil {
		peerRaw = r.get(fPeerPrincipal)
	}
	switch {
	case r.has(fPeerSAN):
		mtls, known = r.get(fPeerSAN) != nil, true
	case r.has(fSNI):
		mtls, known = hasPrefix(r.get(fSNI), "outbound_"), true
	}
	if known {
		if mtls {
			e.counts.MTLS = 1
		} else {
			e.counts.Plaintext = 1
		}
	}
	src, ok := w.source(w.res.principal(peerRaw), w.remoteIP(r), !known || mtls)
	if !ok {
		return foldMalformed
	}
	return w.emit(e, src)
}

// envoyWaypoint: a waypoint's line. The destination Service is the
// inbound-vip cluster's host; the workload is the one whose pod the
// waypoint connected to (the upstream host, "envoy://connect_originate/
// <pod IP>:<target port>"), through the inventory, else the Service's only
// workload. The port is the target port: the upstream host's port when the
// line shows it, else the Service port mapped to its target port through the
// inventory (0 when neither is known). The caller is the peer principal when
// the format carries one, else the peer address through the inventory.
func (w *worker) envoyWaypoint(r *record, c cluster, e *entry) foldResult {
	e.key.reporter = repWaypoint
	var svcHost, tip []byte
	tport := 0
	if string(c.kind) == "inbound-pod" {
		tip, tport = c.host, c.port
	} else {
		svcHost = c.host
		tip, tport = splitAddr(r.get(fUpstreamHost))
	}
	host, ok := w.res.str(svcHost)
	if !ok {
		return foldMalformed
	}
	svc := w.res.service(host.s)
	wl := w.res.workloadByIP(tip)
	if wl.w == nil {
		wl = w.res.onlyWorkload(svc)
	}
	if wl.w == nil {
		w.unresolved(tip, svcHost)
		return foldUnresolved
	}
	// The waypoint's own certificate (%DOWNSTREAM_LOCAL_URI_SAN%) is not the
	// destination's, so the destination principal stays unknown.
	e.key.dstNamespace, e.key.dstWorkload, e.key.dstService = wl.ns, wl.name, host.id
	port := tport
	if port == 0 && svc != nil {
		for _, sp := range svc.Ports {
			if sp.Port == c.port {
				port = w.res.idx.ResolveTargetPort(wl.w, sp)
				break
			}
		}
	}
	e.key.port = port
	peer := w.res.principal(r.get(fPeerPrincipal))
	if peer.p.s == "" {
		peer = w.res.principal(r.get(fPeerSAN))
	}
	if peer.p.s != "" {
		e.counts.MTLS = 1
	}
	// Waypoints are reached over HBONE only, so a caller found by its
	// address had a certificate: its principal may be inferred.
	src, ok := w.source(peer, w.remoteIP(r), true)
	if !ok {
		return foldMalformed
	}
	return w.emit(e, src)
}

// envoyOutbound: a client-side line (a sidecar's or gateway's outbound
// call). The caller is the pod the line was read from, else the downstream
// address; the destination is the upstream host through the inventory, else
// the cluster's Service when it selects one workload.
func (w *worker) envoyOutbound(r *record, c cluster, lc *lineCtx, e *entry) foldResult {
	e.key.reporter = repSource
	var src source
	if pw, ok := w.pod(lc); ok && pw.name.s != "" && pw.ns.s != "" {
		src = source{namespace: pw.ns.id, workload: pw.name.id}
		if p := w.res.workload(pw.w).inferred; p != 0 {
			src.principal, src.identityFrom = p, idPodIP
		}
	} else {
		var ok bool
		if src, ok = w.source(principal{}, w.remoteIP(r), true); !ok {
			return foldMalformed
		}
	}
	uip, uport := splitAddr(r.get(fUpstreamHost))
	host := c.host
	if string(c.kind) != "outbound" {
		host = nil
	}
	hs, ok := w.res.str(host)
	if !ok {
		return foldMalformed
	}
	svc := w.res.service(hs.s)
	wl := w.res.workloadByIP(uip)
	if wl.w == nil {
		wl = w.res.onlyWorkload(svc)
	}
	if wl.w == nil {
		w.unresolved(uip, host)
		return foldUnresolved
	}
	e.key.dstNamespace, e.key.dstWorkload, e.key.dstService = wl.ns, wl.name, hs.id
	e.dstPrincipal = w.res.principal(r.get(fUpstreamPeerSAN)).p.id
	port := uport
	if port == 0 && svc != nil {
		for _, sp := range svc.Ports {
			if sp.Port == c.port {
				port = w.res.idx.ResolveTargetPort(wl.w, sp)
				break
			}
		}
	}
	e.key.port = port
	return w.emit(e, src)
}

// ztunnelPolicyRejection is how ztunnel's error says that an authorization
// policy refused the connection ("connection closed due to policy
// rejection: explicitly denied by: shop/deny-all", "...: allow policies
// exist, but none allowed").
var ztunnelPolicyRejection = []byte("policy rejection")

// foldZtunnel turns a ztunnel line into an entry. The inbound line (the
// destination's ztunnel) is evidence; the outbound line only fills in. Names
// in the line are trusted less than identities and the inventory: the
// destination namespace comes from dst.identity, else the inventory, else
// dst.service, and only last from dst.namespace (which real files show
// holding an app name).
func (w *worker) foldZtunnel(r *record) foldResult {
	e := &w.e
	*e = entry{evidence: evZtunnel, counts: snapshot.Counts{Requests: 1}}
	w.method, w.path = nil, nil
	e.key.protocol = protoTCP
	inbound := string(r.get(fDirection)) == "inbound"
	if inbound {
		e.key.reporter = repDestination
	} else {
		e.key.reporter = repSource
	}
	srcID := w.res.principal(r.get(fSrcIdentity))
	dstID := w.res.principal(r.get(fDstIdentity))
	// A "connection failed" line is logged before the handshake is known;
	// it says nothing about transport security.
	if inbound && string(r.get(fMessage)) == "connection complete" {
		if srcID.p.s != "" {
			e.counts.MTLS = 1
		} else {
			e.counts.Plaintext = 1
		}
	}
	if err := r.get(fError); bytes.Contains(err, ztunnelPolicyRejection) ||
		!inbound && (bytes.Contains(err, []byte("status: 401")) || bytes.Contains(err, []byte("status: 403"))) {
		// The server's ztunnel logs a policy rejection; the client's sees
		// the HBONE answer to it, "http status: 401 Unauthorized".
		e.counts.Denied = 1
	}

	// Destination.
	target := r.get(fDstHbone)
	if target == nil {
		target = r.get(fDstAddr)
	}
	tip, tport := splitAddr(target)
	wl := w.res.workloadByIP(tip)
	if wl.w == nil && r.get(fDstHbone) != nil {
		// dst.hbone_addr may be a Service VIP (towards a waypoint); the
		// HBONE peer is then the pod in dst.addr.
		ip, _ := splitAddr(r.get(fDstAddr))
		wl = w.res.workloadByIP(ip)
	}
	if wl.w != nil && dstID.ns.id != 0 && wl.ns != dstID.ns.id {
		wl = wlRef{} // a stale address in the inventory; the identity wins
	}
	svcHost := r.get(fDstService)
	hs, ok := w.res.str(svcHost)
	if !ok {
		return foldMalformed
	}
	var ns, name sym
	switch {
	case wl.w != nil:
		ns, name = wl.namespace(), wl.workload()
	default:
		if dstID.ns.s != "" {
			ns = dstID.ns
		} else {
			nsb := hostNamespace(svcHost)
			if nsb == nil {
				nsb = r.get(fDstNamespace)
			}
			if ns, ok = w.res.str(nsb); !ok {
				return foldMalformed
			}
		}
		if pod := r.get(fDstWorkload); pod != nil {
			pw := w.res.pod(ns, pod)
			name = pw.name
		}
	}
	if name.s == "" || ns.s == "" {
		w.unresolved(tip, svcHost)
		return foldUnresolved
	}
	e.key.dstNamespace, e.key.dstWorkload, e.key.dstService = ns.id, name.id, hs.id
	e.dstPrincipal = dstID.p.id
	// The port is dst.hbone_addr's (the target port), else dst.addr's
	// unless that is the HBONE port. Towards a Service VIP it is the Service
	// port, mapped to the target port through the inventory.
	if tport == 15008 && r.get(fDstHbone) == nil {
		tport = 0
	}
	if wl.w == nil || !w.isPodIP(wl.w, tip) {
		if svc := w.res.service(hs.s); svc != nil {
			for _, sp := range svc.Ports {
				if sp.Port == tport {
					if p := w.res.idx.ResolveTargetPort(wl.w, sp); p > 0 {
						tport = p
					}
					break
				}
			}
		}
	}
	e.key.port = tport

	// Source.
	sip, _ := splitAddr(r.get(fSrcAddr))
	sw := w.res.workloadByIP(sip)
	var src source
	switch {
	case srcID.p.id != 0:
		src = source{principal: srcID.p.id, namespace: srcID.ns.id, identityFrom: idCertificate}
		if sw.w != nil && sw.ns == srcID.ns.id {
			src.workload = sw.name
		} else if pod := r.get(fSrcWorkload); pod != nil {
			src.workload = w.res.pod(srcID.ns, pod).name.id
		}
	case sw.w != nil:
		src = source{namespace: sw.ns, workload: sw.name}
	case r.get(fSrcWorkload) != nil && r.get(fSrcNamespace) != nil:
		sns, ok := w.res.str(r.get(fSrcNamespace))
		if !ok {
			return foldMalformed
		}
		src = source{namespace: sns.id, workload: w.res.pod(sns, r.get(fSrcWorkload)).name.id}
	default:
		ipStr, ok := w.res.str(sip)
		if !ok {
			return foldMalformed
		}
		src = source{ip: ipStr.id}
	}
	return w.emit(e, src)
}

func (w *worker) isPodIP(wl *snapshot.Workload, ip []byte) bool {
	for _, p := range wl.PodIPs {
		if p == string(ip) {
			return true
		}
	}
	return false
}

// unresolved notes a line whose destination workload is unknown.
func (w *worker) unresolved(ip, host []byte) {
	st := w.st
	st.unresolvedDst++
	if st.unresolvedExample == "" {
		switch {
		case host != nil:
			st.unresolvedExample = string(host)
			if ip != nil {
				st.unresolvedExample += " (" + string(ip) + ")"
			}
		case ip != nil:
			st.unresolvedExample = string(ip)
		}
	}
}

// emit completes e with its source and time and adds it to the chunk's
// aggregate.
func (w *worker) emit(e *entry, src source) foldResult {
	e.key.srcPrincipal, e.key.srcNamespace, e.key.srcWorkload, e.key.srcIP = src.principal, src.namespace, src.workload, src.ip
	e.identityFrom = src.identityFrom
	if unresolvedSource(&src) {
		w.st.unresolvedSrc++
	}
	e.first, e.last = w.ts, w.ts
	// The method was checked in operation, and is one of few.
	m, _ := w.res.str(w.method)
	e.key.method = m.id
	e.key.path = w.agg.paths.add(w.path)
	e.tabs = &w.agg.tabs
	e.h = hashKey(&e.key)
	w.agg.addChunk(e)
	return foldOK
}
