package synth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// access is what one caller was seen doing to one destination, split into
// what only L4 fields can express and what has L7 detail.
type access struct {
	// l4Ports are ports admitted without L7 restriction; l4Any admits every
	// port (evidence without a port, and no port known from the inventory).
	l4Ports []int
	l4Any   bool
	l4Ev    evAcc
	// l7 are the observed requests with a method or path, on ports not in l4Ports.
	l7   []l7Obs
	l7Ev evAcc
	// notes explain choices that affect this caller's rules.
	notes []string
	// needsLogs is true when L7 traffic was seen only in metrics.
	needsLogs bool
	// hasL7 is true when any L7 detail was observed (also on moot ports).
	hasL7 bool
	// moot are ports seen both as TCP and with L7 detail.
	moot []int
	// partial describes metrics that logs narrowed but did not fully see.
	partial []string
}

// l7Obs is one observed HTTP or gRPC request shape.
type l7Obs struct {
	port     int
	method   string
	path     string
	prefix   bool
	grpc     bool
	requests int64
}

// analyzeAccess turns a caller's included edges into an access. invPorts are
// the destination's target ports as the inventory knows them, used for
// evidence without a port (metrics).
func analyzeAccess(edges []*snapshot.Edge, invPorts []int) *access {
	a := &access{}
	tcp := map[int]bool{}
	l7ByPort := map[int][]*snapshot.Edge{}
	portOnly := map[int][]*snapshot.Edge{}
	metric := map[string][]*snapshot.Edge{}
	var logged []*snapshot.Edge
	for _, e := range edges {
		if !isMetricOnly(e) {
			logged = append(logged, e)
		}
		switch {
		case e.Protocol == snapshot.ProtocolTCP && e.Port > 0:
			tcp[e.Port] = true
			a.l4Ev.add(e, principalRequests(e))
		case hasL7(e):
			l7ByPort[e.Port] = append(l7ByPort[e.Port], e)
		case e.Port > 0:
			portOnly[e.Port] = append(portOnly[e.Port], e)
		default:
			metric[edgeFamily(e)] = append(metric[edgeFamily(e)], e)
		}
	}
	a.hasL7 = len(l7ByPort) > 0
	l4 := map[int]bool{}
	for p := range tcp {
		l4[p] = true
	}
	a.addMootPorts(tcp, l7ByPort, l4)
	a.addPortOnly(portOnly, l7ByPort, l4)
	a.addMetrics(metric, logged, invPorts, l4)
	for _, p := range sortedInts(l7ByPort) {
		for _, e := range l7ByPort[p] {
			a.l7 = append(a.l7, l7Obs{port: e.Port, method: e.Method, path: e.Path, prefix: e.PathPrefix,
				grpc: e.Protocol == snapshot.ProtocolGRPC, requests: principalRequests(e)})
			a.l7Ev.add(e, principalRequests(e))
		}
	}
	for p := range l4 {
		a.l4Ports = append(a.l4Ports, p)
	}
	slices.Sort(a.l4Ports)
	if a.l4Any {
		a.admitAllPorts("")
	}
	return a
}

// admitAllPorts makes the access one rule without port or L7 restriction:
// once every port is admitted, L7 detail restricts nothing.
func (a *access) admitAllPorts(why string) {
	if why != "" {
		a.notes = append(a.notes, why)
	}
	a.l4Any = true
	a.l4Ports = nil
	if len(a.l7) > 0 {
		a.notes = append(a.notes, "every port is admitted for this caller, so its L7 detail is not written")
		a.l4Ev.merge(&a.l7Ev)
		a.l7, a.l7Ev = nil, evAcc{}
	}
}

// edgeFamily groups edges by protocol for deciding whether logs cover
// metrics: "tcp", "grpc", "http" (also any other edge with a method or path),
// or "" when unknown. gRPC is apart from HTTP: its method is always POST, so
// HTTP logs say nothing about it.
func edgeFamily(e *snapshot.Edge) string {
	switch {
	case e.Protocol == snapshot.ProtocolTCP:
		return "tcp"
	case e.Protocol == snapshot.ProtocolGRPC:
		return "grpc"
	case e.Protocol == snapshot.ProtocolHTTP, hasL7(e):
		return "http"
	}
	return ""
}

// addMootPorts moves ports seen both as TCP and with L7 detail to L4: an
// ALLOW rule with HTTP fields is dropped for TCP traffic, so only an L4 rule
// admits both.
func (a *access) addMootPorts(tcp map[int]bool, l7ByPort map[int][]*snapshot.Edge, l4 map[int]bool) {
	for _, p := range sortedInts(l7ByPort) {
		if p == 0 || !tcp[p] {
			continue
		}
		for _, e := range l7ByPort[p] {
			a.l4Ev.add(e, principalRequests(e))
		}
		delete(l7ByPort, p)
		l4[p] = true
		a.moot = append(a.moot, p)
		a.notes = append(a.notes, fmt.Sprintf("port %d was seen as TCP and as HTTP: admitted at L4, L7 restrictions would be moot there", p))
	}
}

// addPortOnly handles edges with a port but no method or path. An HTTP or
// gRPC one is covered by L7 detail on the same port; anything else is
// admitted at L4. An edge of unknown protocol may have been TCP, which an
// L7 rule would deny, so it makes its port L4 even when L7 detail exists
// there.
func (a *access) addPortOnly(portOnly, l7ByPort map[int][]*snapshot.Edge, l4 map[int]bool) {
	for _, p := range sortedInts(portOnly) {
		var uncovered []*snapshot.Edge
		for _, e := range portOnly[p] {
			if f := edgeFamily(e); (f == "http" || f == "grpc") && len(l7ByPort[p]) > 0 {
				continue
			}
			uncovered = append(uncovered, e)
		}
		if len(uncovered) == 0 {
			continue
		}
		l4[p] = true
		needsLogs := false
		for _, e := range uncovered {
			a.l4Ev.add(e, principalRequests(e))
			needsLogs = needsLogs || edgeFamily(e) != "tcp"
		}
		if len(l7ByPort[p]) > 0 {
			for _, e := range l7ByPort[p] {
				a.l4Ev.add(e, principalRequests(e))
			}
			delete(l7ByPort, p)
			a.moot = append(a.moot, p)
			a.notes = append(a.notes, fmt.Sprintf("port %d also saw traffic of unknown protocol (perhaps TCP): admitted at L4, L7 restrictions would be moot there", p))
			continue
		}
		if needsLogs {
			a.needsLogs = true
			a.notes = append(a.notes, fmt.Sprintf("port %d: no method or path observed; L7 detail needs access logs", p))
		}
	}
}

// addMetrics handles metric-only edges (no port): where logs of the same
// protocol family exist they narrow the rule and a note gives their coverage;
// otherwise the inventory's target ports are admitted at L4, or any port when
// the inventory knows none.
func (a *access) addMetrics(metric map[string][]*snapshot.Edge, logged []*snapshot.Edge, invPorts []int, l4 map[int]bool) {
	for _, fam := range sortedKeys(metric) {
		var metricReq int64
		for _, e := range metric[fam] {
			metricReq += principalRequests(e)
		}
		if logReq, covered := loggedRequests(fam, logged, invPorts); covered {
			share := 100
			if metricReq > 0 && logReq < metricReq {
				share = int(logReq * 100 / metricReq)
			}
			msg := fmt.Sprintf("%s metrics counted %d requests; access logs saw %d%% of them and narrow the rule", familyName(fam), metricReq, share)
			a.notes = append(a.notes, msg)
			if share < 100 {
				a.partial = append(a.partial, msg)
			}
			continue
		}
		for _, e := range metric[fam] {
			a.l4Ev.add(e, principalRequests(e))
		}
		if fam != "tcp" {
			a.needsLogs = true
		}
		if len(invPorts) == 0 {
			a.l4Any = true
			a.notes = append(a.notes, "seen only in metrics and the inventory knows no port: no port restriction")
			continue
		}
		for _, p := range invPorts {
			l4[p] = true
		}
		msg := fmt.Sprintf("seen only in metrics: %s from the inventory", portsPhrase(invPorts))
		if fam != "tcp" {
			msg += "; L7 detail needs access logs"
		}
		a.notes = append(a.notes, msg)
	}
}

// loggedRequests sums the requests that logs (edges with a port, method or
// path) saw for a protocol family, and reports whether they cover the
// metrics: logs of the family exist and, when the inventory knows the
// workload's ports, at least one logged port is one of them (otherwise the
// logs and the inventory disagree and the metrics are not narrowed). An
// unknown family is covered by logs of any family.
func loggedRequests(fam string, logged []*snapshot.Edge, invPorts []int) (int64, bool) {
	var n int64
	onKnownPort := len(invPorts) == 0
	for _, e := range logged {
		if f := edgeFamily(e); fam == "" || f == fam || f == "" {
			n += principalRequests(e)
			if e.Port == 0 || slices.Contains(invPorts, e.Port) {
				onKnownPort = true
			}
		}
	}
	return n, n > 0 && onKnownPort
}

func familyName(fam string) string {
	switch fam {
	case "tcp":
		return "TCP"
	case "http":
		return "HTTP"
	case "grpc":
		return "gRPC"
	}
	return "connection"
}

// ports returns every port this access touches and whether it needs any port
// (the L4 projection used for ztunnel).
func (a *access) allPorts(invPorts []int) (ports []int, anyPort bool) {
	if a.l4Any {
		return nil, true
	}
	set := map[int]bool{}
	for _, p := range a.l4Ports {
		set[p] = true
	}
	for _, o := range a.l7 {
		if o.port == 0 {
			if len(invPorts) == 0 {
				return nil, true
			}
			for _, p := range invPorts {
				set[p] = true
			}
			continue
		}
		set[o.port] = true
	}
	for p := range set {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	return ports, false
}

// evidence returns the combined evidence of the access.
func (a *access) evidence() evAcc {
	var ev evAcc
	ev.merge(&a.l4Ev)
	ev.merge(&a.l7Ev)
	return ev
}

func sortedInts[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// portsPhrase renders "port 8080" or "ports 8080, 9090".
func portsPhrase(ps []int) string {
	if len(ps) == 1 {
		return "port " + joinInts(ps)
	}
	return "ports " + joinInts(ps)
}

func joinInts(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}
