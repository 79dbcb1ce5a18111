package eval

import (
	"cmp"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// dryRunAnnotation makes Envoy evaluate a policy without enforcing it (ref 1.10).
const dryRunAnnotation = "istio.io/dry-run"

// compiledSet is a PolicySet prepared for deciding: policies indexed by
// namespace (so that a decision looks at the root namespace and the
// destination's namespace only), matchers parsed once.
type compiledSet struct {
	root   string
	td     string
	byNS   map[string]*nsPolicies
	paByNS map[string][]*cpa // sorted by (creationTimestamp, name)
}

// nsPolicies are the AuthorizationPolicies of one namespace, indexed so that
// a decision looks only at the selector policies whose first label the
// workload has.
type nsPolicies struct {
	all   []*cpolicy            // every policy, sorted by name
	other []*cpolicy            // policies without selector labels, sorted by name
	bySel map[string][]*cpolicy // "key=value" of the first selector label -> policies, sorted by name
}

// cpolicy is one compiled AuthorizationPolicy.
type cpolicy struct {
	key, ns, name string
	action        securityapi.AuthorizationPolicy_Action
	// dryRun is the istio.io/dry-run annotation as strconv.ParseBool reads it;
	// a value that does not parse means enforced (istio:
	// pilot/pkg/security/authz/builder/builder.go isDryRun;
	// pilot/pkg/serviceregistry/ambient/authorization.go convertAuthorizationPolicy).
	dryRun      bool
	hasSelector bool
	selector    map[string]string
	targetRefs  []*typeapi.PolicyTargetReference
	rules       []*crule
	// callerConstraints are the constraints of the rules that read the
	// caller, pathMatchers the matchers that read the path, one per function
	// (classes.go).
	callerConstraints []callerConstraint
	pathMatchers      []valueMatch
}

// crule is one rule of a policy in the two forms Istio builds from it: the
// Envoy RBAC form (sidecars, waypoints) and the ztunnel form.
type crule struct {
	index int
	envoy envoyRule
	zt    ztRule
}

// cpa is one compiled PeerAuthentication.
type cpa struct {
	key, ns, name string
	created       time.Time
	selectorNil   bool              // spec.selector absent
	labels        map[string]string // spec.selector.matchLabels
	mode          mtlsMode
	ports         map[uint32]mtlsMode
	portList      []uint32 // sorted keys of ports
}

type mtlsMode = securityapi.PeerAuthentication_MutualTLS_Mode

const (
	modeUnset      = securityapi.PeerAuthentication_MutualTLS_UNSET
	modeDisable    = securityapi.PeerAuthentication_MutualTLS_DISABLE
	modePermissive = securityapi.PeerAuthentication_MutualTLS_PERMISSIVE
	modeStrict     = securityapi.PeerAuthentication_MutualTLS_STRICT
)

// cache maps a live PolicySet to its compiled form; entries go away when the
// PolicySet is garbage collected.
var cache sync.Map // weak.Pointer[PolicySet] -> *cacheEntry

type cacheEntry struct {
	aps     []*securityv1.AuthorizationPolicy
	pas     []*securityv1.PeerAuthentication
	root    string
	td      string
	aliases []string
	set     *compiledSet
}

func (e *cacheEntry) valid(ps *PolicySet) bool {
	return e.root == ps.RootNamespace && e.td == ps.TrustDomain && slices.Equal(e.aliases, ps.TrustDomainAliases) &&
		slices.Equal(e.aps, ps.AuthorizationPolicies) && slices.Equal(e.pas, ps.PeerAuthentications)
}

// Invalidate drops the compiled form of ps, so that the next decision sees
// policy objects changed in place.
func (ps *PolicySet) Invalidate() { cache.Delete(weak.Make(ps)) }

func (ps *PolicySet) compiled() *compiledSet {
	key := weak.Make(ps)
	if v, ok := cache.Load(key); ok {
		if e := v.(*cacheEntry); e.valid(ps) {
			return e.set
		}
	}
	e := &cacheEntry{
		aps:     slices.Clone(ps.AuthorizationPolicies),
		pas:     slices.Clone(ps.PeerAuthentications),
		root:    ps.RootNamespace,
		td:      ps.TrustDomain,
		aliases: slices.Clone(ps.TrustDomainAliases),
		set:     compile(ps),
	}
	if _, loaded := cache.LoadOrStore(key, e); loaded {
		cache.Store(key, e)
	} else {
		runtime.AddCleanup(ps, func(k weak.Pointer[PolicySet]) { cache.Delete(k) }, key)
	}
	return e.set
}

func compile(ps *PolicySet) *compiledSet {
	c := &compiledSet{
		root:   ps.rootNamespace(),
		td:     ps.trustDomain(),
		byNS:   map[string]*nsPolicies{},
		paByNS: map[string][]*cpa{},
	}
	for _, ap := range ps.AuthorizationPolicies {
		if ap == nil {
			continue
		}
		p := compilePolicy(ap, ps.trustDomainBundle())
		n := c.byNS[p.ns]
		if n == nil {
			n = &nsPolicies{bySel: map[string][]*cpolicy{}}
			c.byNS[p.ns] = n
		}
		n.all = append(n.all, p)
	}
	byName := func(a, b *cpolicy) int { return strings.Compare(a.name, b.name) }
	for _, n := range c.byNS {
		slices.SortFunc(n.all, byName)
		for _, p := range n.all {
			if len(p.selector) == 0 {
				n.other = append(n.other, p)
				continue
			}
			k := slices.Min(slices.Collect(maps.Keys(p.selector)))
			n.bySel[k+"="+p.selector[k]] = append(n.bySel[k+"="+p.selector[k]], p)
		}
	}
	for _, pa := range ps.PeerAuthentications {
		if pa == nil {
			continue
		}
		p := compilePA(pa)
		c.paByNS[p.ns] = append(c.paByNS[p.ns], p)
	}
	for _, list := range c.paByNS {
		// Istio keeps the oldest policy of a level (ref 3.2); with equal
		// timestamps Istio's config store is ordered by name
		// (istio: pilot/pkg/model/config.go sortConfigByCreationTime).
		slices.SortFunc(list, func(a, b *cpa) int {
			return cmp.Or(a.created.Compare(b.created), strings.Compare(a.name, b.name))
		})
	}
	return c
}

func compilePolicy(ap *securityv1.AuthorizationPolicy, bundle []string) *cpolicy {
	spec := &ap.Spec
	p := &cpolicy{
		key:    ap.Namespace + "/" + ap.Name,
		ns:     ap.Namespace,
		name:   ap.Name,
		action: spec.GetAction(),
	}
	if v, ok := ap.Annotations[dryRunAnnotation]; ok {
		p.dryRun, _ = strconv.ParseBool(v)
	}
	if spec.GetSelector() != nil {
		p.hasSelector = true
		p.selector = spec.GetSelector().GetMatchLabels()
	}
	// The deprecated single targetRef counts as targetRefs
	// (istio: pilot/pkg/model/policyattachment.go GetTargetRefs).
	p.targetRefs = spec.GetTargetRefs()
	if len(p.targetRefs) == 0 && spec.GetTargetRef() != nil {
		p.targetRefs = []*typeapi.PolicyTargetReference{spec.GetTargetRef()}
	}
	for i, r := range spec.GetRules() {
		p.rules = append(p.rules, &crule{
			index: i,
			envoy: compileEnvoyRule(r, ap.Namespace, bundle),
			zt:    compileZtunnelRule(r, spec.GetAction(), ap.Namespace),
		})
	}
	p.collectReads()
	return p
}

func compilePA(pa *securityv1.PeerAuthentication) *cpa {
	spec := &pa.Spec
	p := &cpa{
		key:         pa.Namespace + "/" + pa.Name,
		ns:          pa.Namespace,
		name:        pa.Name,
		created:     pa.CreationTimestamp.Time,
		selectorNil: spec.GetSelector() == nil,
		labels:      spec.GetSelector().GetMatchLabels(),
		mode:        spec.GetMtls().GetMode(),
	}
	if len(spec.GetPortLevelMtls()) > 0 {
		p.ports = map[uint32]mtlsMode{}
		for port, m := range spec.GetPortLevelMtls() {
			p.ports[port] = m.GetMode()
			p.portList = append(p.portList, port)
		}
		slices.Sort(p.portList)
	}
	return p
}
