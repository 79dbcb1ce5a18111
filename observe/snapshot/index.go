package snapshot

import (
	"cmp"
	"slices"
	"strings"
)

// Index answers the questions synthesis, replay and log parsing ask of an
// inventory. Build it once with NewIndex; it does not change the inventory.
type Index struct {
	inv        *Inventory
	namespaces map[string]*Namespace
	workloads  map[[2]string]*Workload
	// inNamespace lists each namespace's workloads, in inventory order.
	inNamespace map[string][]*Workload
	services    map[[2]string]*Service
	waypoints   map[[2]string]*Waypoint
	byPodIP     map[string]*Workload
	// servicesOf maps a workload to the Services whose selector matches it.
	servicesOf map[[2]string][]*Service
}

// NewIndex indexes inv.
func NewIndex(inv *Inventory) *Index {
	x := &Index{
		inv:         inv,
		namespaces:  map[string]*Namespace{},
		workloads:   map[[2]string]*Workload{},
		inNamespace: map[string][]*Workload{},
		services:    map[[2]string]*Service{},
		waypoints:   map[[2]string]*Waypoint{},
		byPodIP:     map[string]*Workload{},
		servicesOf:  map[[2]string][]*Service{},
	}
	for i := range inv.Namespaces {
		x.namespaces[inv.Namespaces[i].Name] = &inv.Namespaces[i]
	}
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		x.workloads[[2]string{w.Namespace, w.Name}] = w
		x.inNamespace[w.Namespace] = append(x.inNamespace[w.Namespace], w)
		for _, ip := range w.PodIPs {
			x.byPodIP[ip] = w
		}
	}
	for i := range inv.Waypoints {
		wp := &inv.Waypoints[i]
		x.waypoints[[2]string{wp.Namespace, wp.Name}] = wp
	}
	for i := range inv.Services {
		s := &inv.Services[i]
		x.services[[2]string{s.Namespace, s.Name}] = s
		names := s.Workloads
		if len(names) == 0 && len(s.Selector) > 0 {
			for _, w := range x.inNamespace[s.Namespace] {
				if labelsMatch(s.Selector, w.Labels) {
					names = append(names, w.Name)
				}
			}
		}
		for _, n := range names {
			k := [2]string{s.Namespace, n}
			x.servicesOf[k] = append(x.servicesOf[k], s)
		}
	}
	return x
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Inventory returns the indexed inventory.
func (x *Index) Inventory() *Inventory { return x.inv }

// WorkloadsIn returns the workloads of a namespace, in inventory order.
func (x *Index) WorkloadsIn(ns string) []*Workload { return x.inNamespace[ns] }

// Namespace returns the namespace, or nil.
func (x *Index) Namespace(name string) *Namespace { return x.namespaces[name] }

// Workload returns the workload, or nil.
func (x *Index) Workload(ns, name string) *Workload { return x.workloads[[2]string{ns, name}] }

// Service returns the Service, or nil.
func (x *Index) Service(ns, name string) *Service { return x.services[[2]string{ns, name}] }

// WorkloadByIP returns the workload that owns a pod IP, or nil.
func (x *Index) WorkloadByIP(ip string) *Workload { return x.byPodIP[ip] }

// ServicesOf returns the Services that select a workload, sorted by name.
func (x *Index) ServicesOf(ns, workload string) []*Service {
	s := slices.Clone(x.servicesOf[[2]string{ns, workload}])
	slices.SortFunc(s, func(a, b *Service) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// ServiceByHost returns the Service for a host such as
// "reviews.shop.svc.cluster.local" or "reviews.shop", or nil.
func (x *Index) ServiceByHost(host string) *Service {
	name, rest, ok := strings.Cut(host, ".")
	if !ok {
		return nil
	}
	ns, _, _ := strings.Cut(rest, ".")
	return x.Service(ns, name)
}

// MeshMode returns the mesh mode of a workload: its own when recorded, else
// its namespace's, else "" (unknown).
func (x *Index) MeshMode(ns, workload string) string {
	if w := x.Workload(ns, workload); w != nil && w.MeshMode != "" {
		return w.MeshMode
	}
	if n := x.Namespace(ns); n != nil {
		return n.MeshMode
	}
	return ""
}

// WaypointRef names a waypoint and the identity it presents to ztunnel.
type WaypointRef struct {
	Namespace      string
	Name           string
	ServiceAccount string
	// Known is false when the waypoint was named by a label but is not in the
	// inventory; ServiceAccount is then Istio's default (the Gateway name).
	Known bool
}

// Principal returns the waypoint's principal in the given trust domain.
func (w WaypointRef) Principal(trustDomain string) string {
	return Principal{TrustDomain: trustDomain, Namespace: w.Namespace, ServiceAccount: w.ServiceAccount}.String()
}

func (x *Index) waypointRef(ns, name, nsOverride string) (WaypointRef, bool) {
	if name == "" || name == "none" {
		return WaypointRef{}, false
	}
	ns = cmp.Or(nsOverride, ns)
	if wp := x.waypoints[[2]string{ns, name}]; wp != nil {
		return WaypointRef{Namespace: ns, Name: name, ServiceAccount: cmp.Or(wp.ServiceAccount, name), Known: true}, true
	}
	return WaypointRef{Namespace: ns, Name: name, ServiceAccount: name}, true
}

// ServiceWaypoint returns the waypoint that serves a Service: the Service's
// istio.io/use-waypoint label, else its namespace's. A label value "none"
// opts out.
func (x *Index) ServiceWaypoint(ns, service string) (WaypointRef, bool) {
	if s := x.Service(ns, service); s != nil && s.Waypoint != "" {
		return x.waypointRef(ns, s.Waypoint, s.WaypointNamespace)
	}
	if n := x.Namespace(ns); n != nil && n.Waypoint != "" {
		return x.waypointRef(ns, n.Waypoint, n.WaypointNamespace)
	}
	return WaypointRef{}, false
}

// WorkloadWaypoint returns the waypoint bound to the workload itself (a pod
// label), which handles traffic addressed to the workload directly.
func (x *Index) WorkloadWaypoint(ns, workload string) (WaypointRef, bool) {
	if w := x.Workload(ns, workload); w != nil && w.Waypoint != "" {
		return x.waypointRef(ns, w.Waypoint, w.WaypointNamespace)
	}
	return WaypointRef{}, false
}

// TargetPorts returns the ports a workload listens on as far as the
// inventory knows: its declared container ports and the target ports of the
// Services that select it, sorted and unique.
func (x *Index) TargetPorts(ns, workload string) []int {
	var ports []int
	w := x.Workload(ns, workload)
	if w != nil {
		for _, p := range w.Ports {
			if p.Port > 0 {
				ports = append(ports, p.Port)
			}
		}
	}
	for _, s := range x.ServicesOf(ns, workload) {
		for _, sp := range s.Ports {
			if t := x.ResolveTargetPort(w, sp); t > 0 {
				ports = append(ports, t)
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// ResolveTargetPort returns the container port a Service port forwards to on
// workload w (which may be nil): a numeric targetPort as is, a named one
// through w's container port names, and the Service port when targetPort is
// unset. It returns 0 when a named port cannot be resolved.
func (x *Index) ResolveTargetPort(w *Workload, sp ServicePort) int {
	if sp.TargetPort > 0 {
		return sp.TargetPort
	}
	if sp.TargetName != "" {
		if w != nil {
			for _, p := range w.Ports {
				if p.Name == sp.TargetName {
					return p.Port
				}
			}
		}
		return 0
	}
	return sp.Port
}

// WorkloadsOfService returns the workloads a Service selects.
func (x *Index) WorkloadsOfService(ns, service string) []*Workload {
	var out []*Workload
	for k, svcs := range x.servicesOf {
		if k[0] != ns {
			continue
		}
		for _, s := range svcs {
			if s.Name == service {
				if w := x.Workload(k[0], k[1]); w != nil {
					out = append(out, w)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *Workload) int { return strings.Compare(a.Name, b.Name) })
	return out
}
