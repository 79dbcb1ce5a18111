package inventory

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// collector gathers the digested objects of one inventory read. Objects are
// keyed by kind, namespace and name, so reading one twice (a restarted list)
// changes nothing.
type collector struct {
	// only, when not nil, is the set of namespaces to keep.
	only map[string]bool

	namespaces      map[string]map[string]string // name → labels
	serviceAccounts map[string]map[string]bool   // namespace → names
	services        map[[2]string]*serviceInfo
	controllers     map[[3]string]*controllerInfo // kind, namespace, name
	pods            map[[2]string]*podInfo

	objects      int64
	skippedKinds map[string]int64
}

func newCollector(namespaces []string) *collector {
	c := &collector{
		namespaces:      map[string]map[string]string{},
		serviceAccounts: map[string]map[string]bool{},
		services:        map[[2]string]*serviceInfo{},
		controllers:     map[[3]string]*controllerInfo{},
		pods:            map[[2]string]*podInfo{},
		skippedKinds:    map[string]int64{},
	}
	if len(namespaces) > 0 {
		c.only = map[string]bool{}
		for _, n := range namespaces {
			c.only[n] = true
		}
	}
	return c
}

func (c *collector) keep(ns string) bool { return c.only == nil || c.only[ns] }

func (c *collector) addNamespace(n *corev1.Namespace) {
	c.objects++
	if c.keep(n.Name) {
		c.namespaces[n.Name] = cloneLabels(n.Labels)
	}
}

func (c *collector) addServiceAccount(sa *corev1.ServiceAccount) {
	c.objects++
	if !c.keep(sa.Namespace) {
		return
	}
	if c.serviceAccounts[sa.Namespace] == nil {
		c.serviceAccounts[sa.Namespace] = map[string]bool{}
	}
	c.serviceAccounts[sa.Namespace][sa.Name] = true
}

func (c *collector) addService(s *corev1.Service) {
	c.objects++
	if c.keep(s.Namespace) {
		c.services[[2]string{s.Namespace, s.Name}] = digestService(s)
	}
}

func (c *collector) addController(ci *controllerInfo) {
	c.objects++
	if c.keep(ci.namespace) {
		c.controllers[[3]string{ci.kind, ci.namespace, ci.name}] = ci
	}
}

func (c *collector) addDeployment(d *appsv1.Deployment)   { c.addController(digestDeployment(d)) }
func (c *collector) addStatefulSet(d *appsv1.StatefulSet) { c.addController(digestStatefulSet(d)) }
func (c *collector) addDaemonSet(d *appsv1.DaemonSet)     { c.addController(digestDaemonSet(d)) }
func (c *collector) addReplicaSet(d *appsv1.ReplicaSet)   { c.addController(digestReplicaSet(d)) }

func (c *collector) addPod(p *corev1.Pod) {
	c.objects++
	if c.keep(p.Namespace) {
		c.pods[[2]string{p.Namespace, p.Name}] = digestPod(p)
	}
}

func (c *collector) skip(kind string) {
	c.objects++
	c.skippedKinds[kind]++
}

func (c *collector) skipped() int64 {
	var n int64
	for _, v := range c.skippedKinds {
		n += v
	}
	return n
}

// group is one workload being assembled: its pods and its controller.
type group struct {
	namespace, name, kind string
	ctrl                  *controllerInfo
	pods                  []*podInfo
	// mixed is true when objects of different kinds or controllers share
	// the name (Istio reports them as one workload); the controller's
	// selector then does not describe all the pods.
	mixed bool
}

type builder struct {
	c           *collector
	groups      map[[2]string]*group
	byNamespace map[string][]*group
	indexes     map[string]labelIndex
	warnings    []string
}

func (b *builder) warnf(format string, a ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, a...))
}

// build turns the collected objects into an inventory, with warnings about
// whatever could not be recorded exactly.
func (c *collector) build(origin string) (snapshot.Inventory, []string) {
	b := &builder{c: c, groups: map[[2]string]*group{}}
	b.groupPods()
	b.groupControllers()
	b.byNamespace = map[string][]*group{}
	for _, key := range b.sortedGroups() {
		g := b.groups[key]
		b.byNamespace[g.namespace] = append(b.byNamespace[g.namespace], g)
	}

	inv := snapshot.Inventory{Origin: origin}
	for _, name := range slices.Sorted(maps.Keys(c.namespaces)) {
		labels := c.namespaces[name]
		inv.Namespaces = append(inv.Namespaces, snapshot.Namespace{
			Name:              name,
			Labels:            labels,
			MeshMode:          namespaceMeshMode(labels),
			Waypoint:          labels[labelUseWaypoint],
			WaypointNamespace: labels[labelUseWaypointNS],
		})
	}
	missingNS := map[string]bool{}
	for _, key := range b.sortedGroups() {
		g := b.groups[key]
		if _, ok := c.namespaces[g.namespace]; !ok && !missingNS[g.namespace] {
			missingNS[g.namespace] = true
			b.warnf("namespace %s is not in the inventory input: the mesh mode and waypoint its labels set are unknown", g.namespace)
		}
		w, wp := b.workload(g)
		inv.Workloads = append(inv.Workloads, w)
		if wp != nil {
			inv.Waypoints = append(inv.Waypoints, *wp)
		}
	}
	inv.Services = b.services(inv.Workloads)

	s := snapshot.New()
	s.Inventory = inv
	s.Normalize()
	if n := c.skipped(); n > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(c.skippedKinds)) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, c.skippedKinds[k]))
		}
		b.warnf("skipped %d objects of kinds the inventory does not use (%s)", n, strings.Join(parts, ", "))
	}
	slices.Sort(b.warnings)
	return s.Inventory, slices.Compact(b.warnings)
}

func (b *builder) sortedGroups() [][2]string {
	keys := slices.Collect(maps.Keys(b.groups))
	slices.SortFunc(keys, func(x, y [2]string) int { return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1])) })
	return keys
}

func (b *builder) getGroup(ns, name, kind string) *group {
	k := [2]string{ns, name}
	g := b.groups[k]
	if g == nil {
		g = &group{namespace: ns, name: name, kind: kind}
		b.groups[k] = g
	} else if g.kind != kind {
		g.mixed = true
		b.warnf("workload %s/%s is named by a %s and by a %s; Istio reports both under one name, recorded as %s", ns, name, g.kind, kind, g.kind)
	}
	return g
}

// groupPods puts every pod into the workload Istio names it by.
func (b *builder) groupPods() {
	keys := slices.Collect(maps.Keys(b.c.pods))
	slices.SortFunc(keys, func(x, y [2]string) int { return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1])) })
	for _, k := range keys {
		p := b.c.pods[k]
		name, kind := podWorkload(p)
		g := b.getGroup(p.namespace, name, kind)
		g.pods = append(g.pods, p)
		if ctrl := b.controllerOfPod(p, name, kind); ctrl != nil {
			switch {
			case g.ctrl == nil:
				g.ctrl = ctrl
			case g.ctrl != ctrl:
				g.mixed = true
				b.warnf("workload %s/%s has pods of %s %s and of %s %s; its selector is made from the labels all its pods share", p.namespace, name, g.ctrl.kind, g.ctrl.name, ctrl.kind, ctrl.name)
			}
		}
	}
}

// controllerOfPod finds the object whose selector and template describe the
// pod's workload: the Deployment of its ReplicaSet (through the ReplicaSet's
// owner reference; by Istio's name when the ReplicaSet is not listed), else
// the ReplicaSet, StatefulSet or DaemonSet that owns it. Jobs and other
// owners are not read; their workloads are described by their pods.
func (b *builder) controllerOfPod(p *podInfo, name, kind string) *controllerInfo {
	ref := p.controller
	if ref == nil {
		return nil
	}
	ctrls := b.c.controllers
	switch ref.kind {
	case "ReplicaSet":
		if rs := ctrls[[3]string{"ReplicaSet", p.namespace, ref.name}]; rs != nil {
			if rs.owner != nil && rs.owner.kind == "Deployment" {
				if d := ctrls[[3]string{"Deployment", p.namespace, rs.owner.name}]; d != nil {
					return d
				}
			}
			return rs
		}
		if kind == "Deployment" {
			return ctrls[[3]string{"Deployment", p.namespace, name}]
		}
	case "StatefulSet", "DaemonSet":
		return ctrls[[3]string{ref.kind, p.namespace, ref.name}]
	}
	return nil
}

// groupControllers adds the workloads of controllers that have no pods, so
// that a Deployment scaled to zero or not yet scheduled is still known.
func (b *builder) groupControllers() {
	used := map[*controllerInfo]bool{}
	for _, g := range b.groups {
		if g.ctrl != nil {
			used[g.ctrl] = true
		}
	}
	keys := slices.Collect(maps.Keys(b.c.controllers))
	slices.SortFunc(keys, func(x, y [3]string) int {
		return cmp.Or(strings.Compare(x[1], y[1]), strings.Compare(x[2], y[2]), strings.Compare(x[0], y[0]))
	})
	for _, k := range keys {
		c := b.c.controllers[k]
		if used[c] {
			continue
		}
		if c.kind == "ReplicaSet" {
			// An old revision (scaled to zero) is not a workload; nor is a
			// ReplicaSet whose owner is listed (its Deployment stands for it).
			if c.scaledToZero {
				continue
			}
			if c.owner != nil && b.c.controllers[[3]string{c.owner.kind, c.namespace, c.owner.name}] != nil {
				continue
			}
		}
		name, kind := templateWorkload(c)
		g := b.getGroup(c.namespace, name, kind)
		if g.ctrl == nil && !g.mixed {
			g.ctrl = c
		}
	}
}

// basis returns the pods that describe the workload now: the running ones,
// or all of them when none runs.
func (g *group) basis() []*podInfo {
	var running []*podInfo
	for _, p := range g.pods {
		if p.running {
			running = append(running, p)
		}
	}
	if len(running) > 0 {
		return running
	}
	return g.pods
}

// workload assembles one workload record, and its waypoint record when the
// workload is a waypoint proxy.
func (b *builder) workload(g *group) (snapshot.Workload, *snapshot.Waypoint) {
	nsLabels := b.c.namespaces[g.namespace]
	id := g.namespace + "/" + g.name
	w := snapshot.Workload{Namespace: g.namespace, Name: g.name, Kind: g.kind}
	pods := g.basis()

	var shapeLabels map[string]string // labels that say what the workload is (waypoint, waypoint-for)
	if g.ctrl != nil && !g.mixed {
		w.Labels = withoutKeys(g.ctrl.template.labels, perPodLabels)
		shapeLabels = g.ctrl.template.labels
	}
	if len(pods) > 0 {
		if g.ctrl == nil || g.mixed {
			// Without a controller, the labels all its pods share stand for
			// the template's: less the per-pod ones, those the injector adds,
			// and for a CronJob the per-run Job names.
			w.Labels = withoutKeys(intersectLabels(g.pods), g.droppedKeys()...)
		}
		shapeLabels = pods[0].shape.labels

		w.ServiceAccount = b.majority(id, "service accounts", pods, func(p *podInfo) string { return p.shape.serviceAccount }, nil)
		w.MeshMode = b.majority(id, "mesh modes", pods, func(p *podInfo) string { return podMeshMode(&p.shape, nsLabels) },
			[]string{snapshot.MeshSidecar, snapshot.MeshAmbient, snapshot.MeshNone})
		w.Waypoint = b.majority(id, "istio.io/use-waypoint labels", pods, func(p *podInfo) string { return p.shape.labels[labelUseWaypoint] }, nil)
		w.WaypointNamespace = b.majority(id, "istio.io/use-waypoint-namespace labels", pods, func(p *podInfo) string { return p.shape.labels[labelUseWaypointNS] }, nil)
		for _, p := range pods {
			w.Ports = append(w.Ports, workloadPorts(&p.shape)...)
			w.PodIPs = append(w.PodIPs, p.ips...)
		}
	} else if g.ctrl != nil {
		t := &g.ctrl.template
		w.ServiceAccount = t.serviceAccount
		w.MeshMode = templateMeshMode(t, nsLabels)
		w.Waypoint = t.labels[labelUseWaypoint]
		w.WaypointNamespace = t.labels[labelUseWaypointNS]
		w.Ports = workloadPorts(t)
	}
	w.ServiceAccount = cmp.Or(w.ServiceAccount, defaultServiceAccount)
	if sas := b.c.serviceAccounts[g.namespace]; sas != nil && !sas[w.ServiceAccount] {
		b.warnf("workload %s uses service account %q, which does not exist in namespace %s", id, w.ServiceAccount, g.namespace)
	}
	w.Selector = b.selector(g)

	var wp *snapshot.Waypoint
	if name, ok := waypointOf(shapeLabels); ok {
		wp = &snapshot.Waypoint{
			Namespace:      g.namespace,
			Name:           name,
			ServiceAccount: w.ServiceAccount,
			// The gateway controller copies the Gateway's labels, among them
			// istio.io/waypoint-for, onto the Deployment and its pods; without
			// it Istio's default is "service".
			For: cmp.Or(shapeLabels[labelWaypointFor], defaultWaypointFor),
		}
	}
	return w, wp
}

// workloadPorts are the ports a pod's workload serves: its app containers',
// and the proxy's own when the proxy is the workload (gateway, waypoint,
// ztunnel). A sidecar's ports (15090 and so on) belong to the proxy, not to
// the app, and are left out.
func workloadPorts(s *podShape) []snapshot.ContainerPort {
	ports := slices.Clone(s.appPorts)
	if s.proxy == proxyGateway || s.proxy == proxyWaypoint || s.proxy == proxyOther {
		ports = append(ports, s.proxyPorts...)
	}
	return ports
}

// majority returns the most common value of f over pods, preferring earlier
// entries of order (then the smaller value) on ties, and warns when the pods
// disagree.
func (b *builder) majority(id, what string, pods []*podInfo, f func(*podInfo) string, order []string) string {
	counts := map[string]int{}
	for _, p := range pods {
		counts[f(p)]++
	}
	if len(counts) == 1 {
		for v := range counts {
			return v
		}
	}
	vals := slices.Collect(maps.Keys(counts))
	rank := func(v string) int {
		if i := slices.Index(order, v); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.Slice(vals, func(i, j int) bool {
		a, c := vals[i], vals[j]
		if counts[a] != counts[c] {
			return counts[a] > counts[c]
		}
		if rank(a) != rank(c) {
			return rank(a) < rank(c)
		}
		return a < c
	})
	var parts []string
	for _, v := range vals {
		parts = append(parts, fmt.Sprintf("%q: %d", v, counts[v]))
	}
	b.warnf("pods of workload %s differ in %s (%s); recorded %q", id, what, strings.Join(parts, ", "), vals[0])
	return vals[0]
}

func intersectLabels(pods []*podInfo) map[string]string {
	if len(pods) == 0 {
		return nil
	}
	out := cloneLabels(pods[0].shape.labels)
	for _, p := range pods[1:] {
		for k, v := range out {
			if pv, ok := p.shape.labels[k]; !ok || pv != v {
				delete(out, k)
			}
		}
	}
	return out
}

func withoutKeys(m map[string]string, drop ...map[string]bool) map[string]string {
	var out map[string]string
	for k, v := range m {
		skip := false
		for _, d := range drop {
			skip = skip || d[k]
		}
		if !skip {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

func formatLabels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// selector returns a label set that selects exactly the workload's pods:
//
//   - the controller's spec.selector.matchLabels, when the selector has no
//     matchExpressions and no per-pod key (an orphaned ReplicaSet's selector
//     has pod-template-hash);
//   - otherwise (and when matchLabels also selects another workload's pods) the
//     labels every pod of the workload carries: the pod template's labels
//     shared by all its pods, or for a workload without a controller the
//     labels all its pods share. Per-pod keys (pod-template-hash,
//     controller-revision-hash, pod-template-generation,
//     statefulset.kubernetes.io/pod-name, ...) and the labels the sidecar
//     injector adds are never used; for a CronJob neither are the per-run
//     job-name labels.
//
// A candidate is used only if it selects no pod of another workload in the
// namespace (and, for workloads without pods, no other workload's template).
// When none qualifies the selector is left empty, with a warning.
func (b *builder) selector(g *group) map[string]string {
	drop := g.droppedKeys()
	var first map[string]string
	var shared map[string]string
	if g.ctrl != nil && !g.mixed {
		if !g.ctrl.hasExpressions && len(g.ctrl.matchLabels) > 0 && len(withoutKeys(g.ctrl.matchLabels, perPodLabels)) == len(g.ctrl.matchLabels) {
			first = g.ctrl.matchLabels
		}
		shared = withoutKeys(g.ctrl.template.labels, drop...)
		for _, p := range g.pods {
			for k, v := range shared {
				if p.shape.labels[k] != v {
					delete(shared, k)
				}
			}
		}
	} else {
		shared = withoutKeys(intersectLabels(g.pods), drop...)
	}
	id := g.namespace + "/" + g.name
	var candidates []map[string]string
	if len(first) > 0 {
		candidates = append(candidates, first)
	}
	if len(shared) > 0 && !maps.Equal(first, shared) {
		candidates = append(candidates, shared)
	}
	var clash string
	for _, sel := range candidates {
		other := b.selectsOther(g, sel)
		if other == "" {
			if first != nil && !maps.Equal(sel, first) {
				b.warnf("the selector of %s %s (%s) also selects pods of %s; recorded the narrower %s instead", g.ctrl.kind, id, formatLabels(first), clash, formatLabels(sel))
			}
			return maps.Clone(sel)
		}
		if clash == "" {
			clash = other
		}
	}
	if clash != "" {
		b.warnf("workload %s (%s): no label set selects exactly its pods (its labels also select %s); selector left empty, so no workload-scoped policy can be written for it", id, g.kind, clash)
	} else {
		b.warnf("workload %s (%s): its pods share no label that can select them; selector left empty, so no workload-scoped policy can be written for it", id, g.kind)
	}
	return nil
}

// droppedKeys are the label keys never used in the workload's selector.
func (g *group) droppedKeys() []map[string]bool {
	drop := []map[string]bool{perPodLabels, injectedLabels}
	if g.kind == "CronJob" {
		drop = append(drop, jobRunLabels)
	}
	return drop
}

// member is one set of labels that a selector could match in a namespace:
// a pod's, or the template's of a workload without pods.
type member struct {
	g      *group
	labels map[string]string
}

// labelIndex finds the members of a namespace that carry a label, so that
// matching a selector looks only at members with its rarest label.
type labelIndex map[string][]member // "key=value" → members

func (b *builder) index(ns string) labelIndex {
	if x, ok := b.indexes[ns]; ok {
		return x
	}
	x := labelIndex{}
	for _, g := range b.byNamespace[ns] {
		add := func(labels map[string]string) {
			for k, v := range labels {
				x[k+"="+v] = append(x[k+"="+v], member{g, labels})
			}
		}
		if len(g.pods) > 0 {
			for _, p := range g.pods {
				add(p.shape.labels)
			}
		} else if g.ctrl != nil {
			add(g.ctrl.template.labels)
		}
	}
	if b.indexes == nil {
		b.indexes = map[string]labelIndex{}
	}
	b.indexes[ns] = x
	return x
}

// matching returns the workloads of namespace ns that sel matches (by a
// pod's labels, or by the template's when they have no pods), sorted by name.
func (b *builder) matching(ns string, sel map[string]string) []*group {
	if len(sel) == 0 {
		return nil
	}
	x := b.index(ns)
	var rarest []member
	first := true
	for k, v := range sel {
		if l := x[k+"="+v]; first || len(l) < len(rarest) {
			rarest, first = l, false
		}
	}
	seen := map[*group]bool{}
	var out []*group
	for _, m := range rarest {
		if !seen[m.g] && matches(sel, m.labels) {
			seen[m.g] = true
			out = append(out, m.g)
		}
	}
	slices.SortFunc(out, func(a, c *group) int { return strings.Compare(a.name, c.name) })
	return out
}

// selectsOther returns the name of another workload in g's namespace that sel
// selects, or "".
func (b *builder) selectsOther(g *group, sel map[string]string) string {
	for _, o := range b.matching(g.namespace, sel) {
		if o != g {
			return g.namespace + "/" + o.name
		}
	}
	return ""
}

// services records the Services with the workloads their selectors match.
func (b *builder) services(workloads []snapshot.Workload) []snapshot.Service {
	ports := map[[2]string][]snapshot.ContainerPort{}
	for _, w := range workloads {
		ports[[2]string{w.Namespace, w.Name}] = w.Ports
	}
	keys := slices.Collect(maps.Keys(b.c.services))
	slices.SortFunc(keys, func(x, y [2]string) int { return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1])) })
	var out []snapshot.Service
	for _, k := range keys {
		si := b.c.services[k]
		s := snapshot.Service{
			Namespace:         si.namespace,
			Name:              si.name,
			Selector:          si.selector,
			Ports:             si.ports,
			Waypoint:          si.labels[labelUseWaypoint],
			WaypointNamespace: si.labels[labelUseWaypointNS],
		}
		for _, g := range b.matching(si.namespace, si.selector) {
			s.Workloads = append(s.Workloads, g.name)
		}
		for _, sp := range s.Ports {
			if sp.TargetName == "" {
				continue
			}
			for _, wn := range s.Workloads {
				if !slices.ContainsFunc(ports[[2]string{si.namespace, wn}], func(p snapshot.ContainerPort) bool { return p.Name == sp.TargetName }) {
					b.warnf("Service %s/%s port %d targets the container port named %q, which workload %s/%s does not declare", si.namespace, si.name, sp.Port, sp.TargetName, si.namespace, wn)
				}
			}
		}
		out = append(out, s)
	}
	return out
}
