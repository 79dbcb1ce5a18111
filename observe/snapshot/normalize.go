package snapshot

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// New returns an empty snapshot with its header set.
func New() *Snapshot {
	return &Snapshot{APIVersion: APIVersion, Kind: Kind}
}

// Normalize puts every list of the snapshot in canonical order and joins
// overlapping windows, so that equal content always encodes to equal bytes.
// Edges with equal keys are merged.
func (s *Snapshot) Normalize() {
	s.APIVersion, s.Kind = APIVersion, Kind
	s.Metadata.Windows = joinWindows(s.Metadata.Windows)
	slices.Sort(s.Metadata.TrustDomains)
	s.Metadata.TrustDomains = slices.Compact(s.Metadata.TrustDomains)
	slices.Sort(s.Metadata.Warnings)
	s.Metadata.Warnings = slices.Compact(s.Metadata.Warnings)

	if !edgesCanonical(s.Edges) {
		s.Edges = buildEdges(s.Edges)
	}
	s.Inventory.normalize()
}

// CanonicalEdges returns a copy of edges in canonical order, with equal keys
// merged: what a Builder makes of them. Edges already canonical (as those of
// a snapshot read from a file are) are copied without rebuilding.
func CanonicalEdges(edges []Edge) []Edge {
	if edgesCanonical(edges) {
		return slices.Clone(edges)
	}
	return buildEdges(edges)
}

func buildEdges(edges []Edge) []Edge {
	b := NewBuilder()
	for _, e := range edges {
		b.Add(e)
	}
	return b.Edges()
}

// edgesCanonical reports whether edges are already what a Builder would make
// of them: keys strictly increasing (sorted, none equal) and every evidence
// list a sorted set. Snapshots are normalized many times on their way
// (learn merges each source, then normalizes; readers of a file get it in
// canonical order), and this O(n) check saves rebuilding and sorting a
// large edge list that is already canonical.
func edgesCanonical(edges []Edge) bool {
	for i := range edges {
		ev := edges[i].Evidence
		for j := 1; j < len(ev); j++ {
			if ev[j-1] >= ev[j] {
				return false
			}
		}
		if i > 0 && CompareKeys(edges[i-1].Key(), edges[i].Key()) >= 0 {
			return false
		}
	}
	return true
}

// CollectTrustDomains adds the trust domains of all edge principals to the metadata.
func (s *Snapshot) CollectTrustDomains() {
	seen := map[string]bool{}
	for _, td := range s.Metadata.TrustDomains {
		seen[td] = true
	}
	for i := range s.Edges {
		for _, p := range []string{s.Edges[i].Source.Principal, s.Edges[i].Destination.Principal} {
			if pp, err := ParsePrincipal(p); err == nil && !seen[pp.TrustDomain] {
				seen[pp.TrustDomain] = true
				s.Metadata.TrustDomains = append(s.Metadata.TrustDomains, pp.TrustDomain)
			}
		}
	}
	slices.Sort(s.Metadata.TrustDomains)
}

func joinWindows(ws []Window) []Window {
	if len(ws) < 2 {
		return ws
	}
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b Window) int { return a.Start.Compare(b.Start) })
	out := ws[:1]
	for _, w := range ws[1:] {
		last := &out[len(out)-1]
		if !w.Start.After(last.End) {
			if w.End.After(last.End) {
				last.End = w.End
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

func (inv *Inventory) normalize() {
	slices.SortFunc(inv.Namespaces, func(a, b Namespace) int { return strings.Compare(a.Name, b.Name) })
	inv.Namespaces = slices.CompactFunc(inv.Namespaces, func(a, b Namespace) bool { return a.Name == b.Name })
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		slices.SortFunc(w.Ports, func(a, b ContainerPort) int {
			return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Protocol, b.Protocol), strings.Compare(a.Name, b.Name))
		})
		w.Ports = slices.Compact(w.Ports)
		slices.Sort(w.PodIPs)
		w.PodIPs = slices.Compact(w.PodIPs)
	}
	slices.SortFunc(inv.Workloads, func(a, b Workload) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	inv.Workloads = slices.CompactFunc(inv.Workloads, func(a, b Workload) bool {
		return a.Namespace == b.Namespace && a.Name == b.Name
	})
	for i := range inv.Services {
		s := &inv.Services[i]
		slices.SortFunc(s.Ports, func(a, b ServicePort) int {
			return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Protocol, b.Protocol))
		})
		slices.Sort(s.Workloads)
		s.Workloads = slices.Compact(s.Workloads)
	}
	slices.SortFunc(inv.Services, func(a, b Service) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	inv.Services = slices.CompactFunc(inv.Services, func(a, b Service) bool {
		return a.Namespace == b.Namespace && a.Name == b.Name
	})
	slices.SortFunc(inv.Waypoints, func(a, b Waypoint) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	inv.Waypoints = slices.CompactFunc(inv.Waypoints, func(a, b Waypoint) bool {
		return a.Namespace == b.Namespace && a.Name == b.Name
	})
}

// Merge folds o into s: edges with equal keys add their counts and widen their
// times, windows and sources are joined. The inventory of o replaces that of s
// when o's inventory is read from a cluster or file (it is newer); an inferred
// inventory only adds workloads s does not know.
func (s *Snapshot) Merge(o *Snapshot) {
	s.Edges = append(s.Edges, o.Edges...)
	s.Metadata.Windows = append(s.Metadata.Windows, o.Metadata.Windows...)
	s.Metadata.Sources = append(s.Metadata.Sources, o.Metadata.Sources...)
	s.Metadata.TrustDomains = append(s.Metadata.TrustDomains, o.Metadata.TrustDomains...)
	s.Metadata.Warnings = append(s.Metadata.Warnings, o.Metadata.Warnings...)
	switch {
	case o.Inventory.Origin == InventoryCluster || o.Inventory.Origin == InventoryFile:
		s.Inventory = o.Inventory
	case s.Inventory.Origin == "" || s.Inventory.Origin == InventoryInferred:
		s.Inventory.Origin = cmp.Or(s.Inventory.Origin, o.Inventory.Origin)
		s.Inventory.Namespaces = append(s.Inventory.Namespaces, o.Inventory.Namespaces...)
		s.Inventory.Workloads = append(s.Inventory.Workloads, o.Inventory.Workloads...)
		s.Inventory.Services = append(s.Inventory.Services, o.Inventory.Services...)
		s.Inventory.Waypoints = append(s.Inventory.Waypoints, o.Inventory.Waypoints...)
	default:
		// s has a real inventory; inferred workloads from o add nothing it lacks
		// except workloads that it does not list at all.
		known := map[[2]string]bool{}
		for _, w := range s.Inventory.Workloads {
			known[[2]string{w.Namespace, w.Name}] = true
		}
		for _, w := range o.Inventory.Workloads {
			if !known[[2]string{w.Namespace, w.Name}] {
				s.Inventory.Workloads = append(s.Inventory.Workloads, w)
			}
		}
	}
	s.Normalize()
}

// Validate checks the invariants every reader relies on. Errors name the edge
// by its index.
func (s *Snapshot) Validate() error {
	for i := range s.Edges {
		e := &s.Edges[i]
		if e.Destination.Namespace == "" || e.Destination.Workload == "" {
			return fmt.Errorf("edge %d: destination namespace and workload are required", i)
		}
		if e.Source.Principal != "" {
			if strings.HasPrefix(e.Source.Principal, SPIFFEPrefix) {
				return fmt.Errorf("edge %d: source principal %q must not carry %q", i, e.Source.Principal, SPIFFEPrefix)
			}
			if _, err := ParsePrincipal(e.Source.Principal); err != nil {
				return fmt.Errorf("edge %d: %w", i, err)
			}
		}
		c := e.Counts
		if c.Requests < 0 || c.MTLS < 0 || c.Plaintext < 0 || c.Denied < 0 || c.Unauthorized < 0 || c.ServerErrors < 0 {
			return fmt.Errorf("edge %d: negative count", i)
		}
		if c.MTLS+c.Plaintext > c.Requests || c.Denied > c.Requests || c.Unauthorized > c.Requests {
			return fmt.Errorf("edge %d: counts exceed the request total %d", i, c.Requests)
		}
		if e.Port < 0 || e.Port > 65535 {
			return fmt.Errorf("edge %d: port %d out of range", i, e.Port)
		}
		switch e.Reporter {
		case ReporterDestination, ReporterWaypoint, ReporterSource:
		default:
			return fmt.Errorf("edge %d: unknown reporter %q", i, e.Reporter)
		}
		switch e.Protocol {
		case "", ProtocolHTTP, ProtocolGRPC, ProtocolTCP:
		default:
			return fmt.Errorf("edge %d: unknown protocol %q", i, e.Protocol)
		}
		if !e.FirstSeen.IsZero() && !e.LastSeen.IsZero() && e.LastSeen.Before(e.FirstSeen) {
			return fmt.Errorf("edge %d: lastSeen is before firstSeen", i)
		}
	}
	return nil
}
