package inventory

import (
	"regexp"
	"strings"

	"github.com/meshgen/meshgen/observe/snapshot"
)

// cronJobNameRegexp matches the "-<8 to 10 digit timestamp>" suffix that the
// CronJob controller gives the Jobs it creates; the same expression as Istio's.
var cronJobNameRegexp = regexp.MustCompile(`(.+)-\d{8,10}$`)

// deployMeta returns the workload name and kind of a pod exactly as Istio's
// heuristic derives them: istio/istio pkg/kube/util.go GetDeployMetaFromPod.
// The sidecar injector uses it for ISTIO_META_WORKLOAD_NAME (pkg/kube/inject
// webhook.go), and that node metadata is what Envoy's telemetry reports as
// destination_workload / source_workload.
//
//   - Only a pod with metadata.generateName set is looked at further; any other
//     pod is its own workload, kind Pod, named after the pod.
//   - The controlling owner reference gives kind and name.
//   - A ReplicaSet whose name ends in the pod's pod-template-hash label is a
//     Deployment's: the name is the ReplicaSet name without "-<hash>". (Istio
//     does not look at the ReplicaSet's own owner reference; this does the
//     same, so the name matches the metrics even when the ReplicaSet is not
//     listed.) With rollouts-pod-template-hash it is an Argo Rollout.
//   - A ReplicationController with a deploymentconfig label is an OpenShift
//     DeploymentConfig of that name.
//   - A Job whose name ends in "-<8..10 digits>" belongs to a CronJob: the name
//     without that suffix (Istio does not read the Job's owner either).
//   - StatefulSet, DaemonSet, Job and any other controller: its own name.
func deployMeta(p *podInfo) (name, kind string) {
	name, kind = p.name, "Pod"
	if p.generateName == "" || p.controller == nil {
		return name, kind
	}
	ref := p.controller
	name, kind = ref.name, ref.kind
	labels := p.shape.labels
	switch {
	case ref.kind == "ReplicaSet" && labels[labelPodTemplateHash] != "" && strings.HasSuffix(ref.name, labels[labelPodTemplateHash]):
		name, kind = strings.TrimSuffix(ref.name, "-"+labels[labelPodTemplateHash]), "Deployment"
	case ref.kind == "ReplicaSet" && labels[labelRolloutsHash] != "" && strings.HasSuffix(ref.name, labels[labelRolloutsHash]):
		name, kind = strings.TrimSuffix(ref.name, "-"+labels[labelRolloutsHash]), "Rollout"
	case ref.kind == "ReplicationController" && labels["deploymentconfig"] != "":
		name, kind = labels["deploymentconfig"], "DeploymentConfig"
	case ref.kind == "Job":
		if m := cronJobNameRegexp.FindStringSubmatch(ref.name); len(m) == 2 {
			name, kind = m[1], "CronJob"
		}
	}
	if name == "" {
		name = p.name
	}
	return name, kind
}

// podWorkload returns the workload name Istio's telemetry uses for a pod, and
// its kind.
//
//   - A pod with an istio-proxy container (sidecar, gateway or waypoint): the
//     ISTIO_META_WORKLOAD_NAME that the injector or the gateway controller
//     wrote into that container, which is the value Envoy reports; when it is
//     missing, deployMeta.
//   - Any other pod (ambient, or outside the mesh): istiod names ambient
//     workloads with GetWorkloadMetaFromPod (pilot/pkg/serviceregistry/kube/
//     controller/ambient/workloads.go workloadName), which is deployMeta
//     overridden by the pod label service.istio.io/workload-name; ztunnel
//     reports that name.
func podWorkload(p *podInfo) (name, kind string) {
	name, kind = deployMeta(p)
	if p.shape.proxy != proxyAbsent {
		if p.shape.proxyWorkloadName != "" {
			name = p.shape.proxyWorkloadName
		}
		return name, kind
	}
	if wn := p.shape.labels[labelWorkloadName]; wn != "" {
		name = wn
	}
	return name, kind
}

// templateWorkload returns the name and kind of the workload a controller's
// future pods will have, for a controller with no pods: a Deployment,
// StatefulSet or DaemonSet is named after itself; a ReplicaSet as deployMeta
// would name its pods.
func templateWorkload(c *controllerInfo) (name, kind string) {
	if c.kind == "ReplicaSet" {
		name, kind = deployMeta(&podInfo{
			name:         c.name,
			generateName: c.name + "-",
			controller:   &ownerRef{kind: c.kind, name: c.name},
			shape:        c.template,
		})
	} else {
		name, kind = c.name, c.kind
	}
	switch {
	case c.template.proxy != proxyAbsent && c.template.proxyWorkloadName != "":
		name = c.template.proxyWorkloadName
	case c.template.proxy == proxyAbsent && c.template.labels[labelWorkloadName] != "":
		name = c.template.labels[labelWorkloadName]
	}
	return name, kind
}

// waypointOf reports whether labels (of a pod or a pod template) mark a
// waypoint proxy made by istiod's gateway deployment controller, and the name
// of its Gateway. The controller's template (manifests/charts/istio-control/
// istio-discovery/files/waypoint.yaml) labels the Deployment and its pods with
// gateway.networking.k8s.io/gateway-name: <Gateway>,
// gateway.networking.k8s.io/gateway-class-name: <class> and
// gateway.istio.io/managed: istio.io-mesh-controller; waypoints made before
// Istio 1.24 carry istio.io/gateway-name instead of the first.
func waypointOf(labels map[string]string) (string, bool) {
	name := labels[labelGatewayName]
	if name == "" {
		name = labels[labelGatewayNameLegacy]
	}
	if name == "" {
		return "", false
	}
	if labels[labelGatewayManaged] == meshControllerLabel || labels[labelGatewayClassName] == waypointClass {
		return name, true
	}
	return "", false
}

// namespaceMeshMode is the mesh mode a namespace's labels ask for: sidecar
// injection (istio-injection=enabled, or istio.io/rev unless injection is
// disabled), else ambient (istio.io/dataplane-mode=ambient), else none.
func namespaceMeshMode(labels map[string]string) string {
	switch {
	case labels[labelInjection] == "enabled":
		return snapshot.MeshSidecar
	case labels[labelInjection] != "disabled" && labels[labelRev] != "":
		return snapshot.MeshSidecar
	case labels[labelDataplaneMode] == valueAmbient:
		return snapshot.MeshAmbient
	}
	return snapshot.MeshNone
}

// podMeshMode is the mesh mode of a running pod: sidecar when it was injected
// (it has an istio-proxy sidecar or the sidecar.istio.io/status annotation);
// otherwise ambient when the pod or its namespace has
// istio.io/dataplane-mode=ambient and the pod does not opt out with
// istio.io/dataplane-mode=none; otherwise none. Ingress and egress gateways
// count as sidecar: their Envoy enforces selector policies like a sidecar's.
// A waypoint's own proxy is the workload, not a sidecar, and a waypoint opts
// out of ambient capture, so it is none; so is ztunnel, whose container is also
// named istio-proxy. Host-network pods are never captured.
func podMeshMode(s *podShape, nsLabels map[string]string) string {
	if s.proxy == proxySidecar || s.proxy == proxyGateway || (s.statusAnnotation && s.proxy == proxyAbsent) {
		return snapshot.MeshSidecar
	}
	return ambientOrNone(s, nsLabels)
}

func ambientOrNone(s *podShape, nsLabels map[string]string) string {
	if s.hostNetwork || s.proxy == proxyWaypoint || s.proxy == proxyOther {
		return snapshot.MeshNone
	}
	switch s.labels[labelDataplaneMode] {
	case valueNone:
		return snapshot.MeshNone
	case valueAmbient:
		return snapshot.MeshAmbient
	}
	if nsLabels[labelDataplaneMode] == valueAmbient {
		return snapshot.MeshAmbient
	}
	return snapshot.MeshNone
}

// templateMeshMode predicts the mesh mode of the pods a template will make,
// for a controller that has no pods, following Istio's injection webhooks:
// sidecar.istio.io/inject=false on the template or istio-injection=disabled
// on the namespace prevent injection; istio-injection=enabled, the template
// label sidecar.istio.io/inject=true, or an istio.io/rev label on namespace or
// template cause it; a template that already has an istio-proxy container
// (manual injection, gateway templates) is sidecar. Otherwise as for pods.
func templateMeshMode(s *podShape, nsLabels map[string]string) string {
	if s.proxy == proxySidecar || s.proxy == proxyGateway {
		return snapshot.MeshSidecar
	}
	if s.proxy == proxyWaypoint || s.proxy == proxyOther || s.hostNetwork {
		return snapshot.MeshNone
	}
	inject := s.labels[labelSidecarInject]
	if inject == "" {
		inject = s.injectAnnotation
	}
	switch {
	case inject == "false", nsLabels[labelInjection] == "disabled":
	case nsLabels[labelInjection] == "enabled", inject == "true":
		return snapshot.MeshSidecar
	case nsLabels[labelRev] != "" || s.labels[labelRev] != "":
		return snapshot.MeshSidecar
	}
	return ambientOrNone(s, nsLabels)
}
