package inventory

import (
	"cmp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// The collector keeps only what the inventory needs of each object, so that a
// large cluster or file does not stay in memory as full API objects.

// proxyRole is what the istio-proxy container of a pod does.
type proxyRole int

const (
	proxyAbsent   proxyRole = iota
	proxySidecar            // "proxy sidecar", or a template container before injection
	proxyGateway            // "proxy router": an ingress or egress gateway
	proxyWaypoint           // "proxy waypoint"
	proxyOther              // "proxy ztunnel" and any other proxy that is the workload itself
)

// podShape is the part of a pod, or of a controller's pod template, that the
// inventory reads.
type podShape struct {
	labels map[string]string
	// statusAnnotation is true when sidecar.istio.io/status is set: the pod
	// went through the sidecar injector.
	statusAnnotation bool
	// injectAnnotation is the deprecated sidecar.istio.io/inject annotation.
	injectAnnotation string
	// gatewayTemplate is true when inject.istio.io/templates asks for the
	// gateway template (a gateway Deployment before injection).
	gatewayTemplate bool
	proxy           proxyRole
	// proxyWorkloadName is the ISTIO_META_WORKLOAD_NAME the injector wrote
	// into the istio-proxy container: the name Istio's telemetry reports.
	proxyWorkloadName string
	serviceAccount    string
	hostNetwork       bool
	// appPorts are the ports of the containers that serve traffic; proxyPorts
	// those of the istio-proxy container.
	appPorts   []snapshot.ContainerPort
	proxyPorts []snapshot.ContainerPort
}

type ownerRef struct {
	kind, name string
}

type podInfo struct {
	namespace, name, generateName string
	controller                    *ownerRef
	shape                         podShape
	running                       bool
	ips                           []string
}

type controllerInfo struct {
	kind, namespace, name string
	// owner is the controlling owner (the Deployment of a ReplicaSet).
	owner       *ownerRef
	matchLabels map[string]string
	// hasExpressions is true when the selector has matchExpressions.
	hasExpressions bool
	// scaledToZero is true for a ReplicaSet with spec.replicas 0 (an old
	// revision of a Deployment).
	scaledToZero bool
	template     podShape
}

type serviceInfo struct {
	namespace, name string
	labels          map[string]string
	selector        map[string]string
	ports           []snapshot.ServicePort
}

func controllerOf(m *metav1.ObjectMeta) *ownerRef {
	for _, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return &ownerRef{kind: r.Kind, name: r.Name}
		}
	}
	return nil
}

// shapeOf digests pod metadata and spec.
func shapeOf(m *metav1.ObjectMeta, spec *corev1.PodSpec) podShape {
	s := podShape{
		labels:           cloneLabels(m.Labels),
		serviceAccount:   cmp.Or(spec.ServiceAccountName, spec.DeprecatedServiceAccount, defaultServiceAccount),
		hostNetwork:      spec.HostNetwork,
		injectAnnotation: m.Annotations[annotationSidecarInject],
		gatewayTemplate:  strings.Contains(m.Annotations[annotationInjectTemplate], "gateway"),
	}
	_, s.statusAnnotation = m.Annotations[annotationSidecarStatus]
	consider := func(c *corev1.Container) {
		if c.Name == proxyContainer {
			s.proxy = roleOf(c, s.gatewayTemplate)
			for _, e := range c.Env {
				if e.Name == envWorkloadName && e.Value != "" {
					s.proxyWorkloadName = e.Value
				}
			}
			s.proxyPorts = append(s.proxyPorts, portsOf(c)...)
			return
		}
		s.appPorts = append(s.appPorts, portsOf(c)...)
	}
	for i := range spec.Containers {
		consider(&spec.Containers[i])
	}
	// Init containers: a native sidecar (restartPolicy Always) runs for the
	// life of the pod, so it can serve traffic and its ports count; istio-proxy
	// itself runs this way when Istio injects native sidecars. A classic init
	// container has exited before the app starts, so a port it declares is
	// never served and is left out.
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			consider(c)
		}
	}
	return s
}

func roleOf(c *corev1.Container, gatewayTemplate bool) proxyRole {
	// Injected and gateway-controller proxies run "pilot-agent proxy <type>".
	for i, a := range c.Args {
		if a == "proxy" && i+1 < len(c.Args) {
			switch c.Args[i+1] {
			case "router":
				return proxyGateway
			case "waypoint":
				return proxyWaypoint
			case "sidecar":
				return proxySidecar
			default:
				return proxyOther
			}
		}
	}
	if gatewayTemplate {
		return proxyGateway
	}
	return proxySidecar
}

func portsOf(c *corev1.Container) []snapshot.ContainerPort {
	var out []snapshot.ContainerPort
	for _, p := range c.Ports {
		if p.ContainerPort <= 0 {
			continue
		}
		out = append(out, snapshot.ContainerPort{
			Name:     p.Name,
			Port:     int(p.ContainerPort),
			Protocol: cmp.Or(string(p.Protocol), string(corev1.ProtocolTCP)),
		})
	}
	return out
}

func cloneLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func digestPod(p *corev1.Pod) *podInfo {
	info := &podInfo{
		namespace:    p.Namespace,
		name:         p.Name,
		generateName: p.GenerateName,
		controller:   controllerOf(&p.ObjectMeta),
		shape:        shapeOf(&p.ObjectMeta, &p.Spec),
		running:      p.Status.Phase == corev1.PodRunning,
	}
	if info.running {
		for _, ip := range p.Status.PodIPs {
			if ip.IP != "" {
				info.ips = append(info.ips, ip.IP)
			}
		}
		if len(info.ips) == 0 && p.Status.PodIP != "" {
			info.ips = []string{p.Status.PodIP}
		}
	}
	return info
}

func digestController(kind string, m *metav1.ObjectMeta, sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) *controllerInfo {
	c := &controllerInfo{
		kind:      kind,
		namespace: m.Namespace,
		name:      m.Name,
		owner:     controllerOf(m),
		template:  shapeOf(&tmpl.ObjectMeta, &tmpl.Spec),
	}
	if sel != nil {
		c.matchLabels = cloneLabels(sel.MatchLabels)
		c.hasExpressions = len(sel.MatchExpressions) > 0
	}
	return c
}

func digestDeployment(d *appsv1.Deployment) *controllerInfo {
	return digestController("Deployment", &d.ObjectMeta, d.Spec.Selector, &d.Spec.Template)
}

func digestStatefulSet(d *appsv1.StatefulSet) *controllerInfo {
	return digestController("StatefulSet", &d.ObjectMeta, d.Spec.Selector, &d.Spec.Template)
}

func digestDaemonSet(d *appsv1.DaemonSet) *controllerInfo {
	return digestController("DaemonSet", &d.ObjectMeta, d.Spec.Selector, &d.Spec.Template)
}

func digestReplicaSet(d *appsv1.ReplicaSet) *controllerInfo {
	c := digestController("ReplicaSet", &d.ObjectMeta, d.Spec.Selector, &d.Spec.Template)
	c.scaledToZero = d.Spec.Replicas != nil && *d.Spec.Replicas == 0
	return c
}

func digestService(s *corev1.Service) *serviceInfo {
	info := &serviceInfo{
		namespace: s.Namespace,
		name:      s.Name,
		labels:    cloneLabels(s.Labels),
		selector:  cloneLabels(s.Spec.Selector),
	}
	for _, p := range s.Spec.Ports {
		sp := snapshot.ServicePort{
			Name:     p.Name,
			Port:     int(p.Port),
			Protocol: cmp.Or(string(p.Protocol), string(corev1.ProtocolTCP)),
		}
		if p.AppProtocol != nil {
			sp.AppProtocol = *p.AppProtocol
		}
		switch {
		case p.TargetPort.Type == intstr.String && p.TargetPort.StrVal != "":
			sp.TargetName = p.TargetPort.StrVal
		case p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal > 0:
			sp.TargetPort = int(p.TargetPort.IntVal)
		default:
			// Unset: the API server defaults targetPort to port; do the same
			// so that objects read before and after defaulting agree.
			sp.TargetPort = sp.Port
		}
		info.ports = append(info.ports, sp)
	}
	return info
}
