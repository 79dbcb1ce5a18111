package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

type obj = map[string]any

// writeInventory writes what
// `kubectl get namespaces,serviceaccounts,services,deployments,statefulsets,daemonsets,replicasets,pods -A -o json`
// prints for the mesh: a v1 List, one item at a time.
func writeInventory(w io.Writer, m *mesh) (objects int, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := io.WriteString(bw, `{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[`); err != nil {
		return 0, err
	}
	emit := func(o obj) error {
		if objects > 0 {
			if err := bw.WriteByte(','); err != nil {
				return err
			}
		}
		objects++
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	}
	byNS := map[*namespace][]*workload{}
	for _, wl := range m.workloads {
		byNS[wl.ns] = append(byNS[wl.ns], wl)
	}
	for _, n := range m.namespaces {
		labels := obj{"kubernetes.io/metadata.name": n.name}
		switch n.mode {
		case modeSidecar:
			if n.name != "istio-system" {
				labels["istio-injection"] = "enabled"
			}
		case modeAmbient:
			labels["istio.io/dataplane-mode"] = "ambient"
		case modeAmbientWaypoint:
			labels["istio.io/dataplane-mode"] = "ambient"
			labels["istio.io/use-waypoint"] = "waypoint"
		}
		if err := emit(obj{"apiVersion": "v1", "kind": "Namespace",
			"metadata": obj{"name": n.name, "labels": labels, "uid": uid("ns", n.name), "creationTimestamp": "2026-10-01T09:00:00Z", "resourceVersion": "100"},
			"spec":     obj{"finalizers": []string{"kubernetes"}}, "status": obj{"phase": "Active"}}); err != nil {
			return objects, err
		}
		sas := map[string]bool{"default": true}
		for _, wl := range byNS[n] {
			sas[wl.sa] = true
		}
		var names []string
		for sa := range sas {
			names = append(names, sa)
		}
		sort.Strings(names)
		for _, sa := range names {
			if err := emit(obj{"apiVersion": "v1", "kind": "ServiceAccount",
				"metadata": obj{"name": sa, "namespace": n.name, "uid": uid("sa", n.name+"/"+sa), "creationTimestamp": "2026-10-01T09:00:00Z", "resourceVersion": "101"}}); err != nil {
				return objects, err
			}
		}
		for _, wl := range byNS[n] {
			if err := emit(service(wl)); err != nil {
				return objects, err
			}
			for _, o := range controllerObjects(wl) {
				if err := emit(o); err != nil {
					return objects, err
				}
			}
		}
	}
	if _, err := io.WriteString(bw, "]}\n"); err != nil {
		return objects, err
	}
	return objects, bw.Flush()
}

func uid(kind, name string) string {
	var h uint64 = 1469598103934665603
	for _, c := range kind + "/" + name {
		h ^= uint64(c)
		h *= 1099511628211
	}
	s := fmt.Sprintf("%016x%016x", h, h*31+7)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func selectorLabels(wl *workload) obj {
	switch wl.role {
	case roleWaypoint:
		return obj{"gateway.networking.k8s.io/gateway-name": wl.name}
	case roleGateway:
		return obj{"app": "istio-ingressgateway", "istio": "ingressgateway"}
	}
	return obj{"app": wl.app}
}

func podLabels(wl *workload) obj {
	l := selectorLabels(wl)
	if wl.version != "" {
		l["version"] = wl.version
	}
	if wl.role == roleWaypoint {
		l["gateway.istio.io/managed"] = "istio.io-mesh-controller"
		l["gateway.networking.k8s.io/gateway-class-name"] = "istio-waypoint"
		l["istio.io/dataplane-mode"] = "none"
	}
	if wl.ns.mode == modeSidecar && wl.role != roleGateway {
		l["security.istio.io/tlsMode"] = "istio"
		l["service.istio.io/canonical-name"] = orDefault(wl.app, wl.name)
		l["service.istio.io/canonical-revision"] = orDefault(wl.version, "latest")
	}
	return l
}

func service(wl *workload) obj {
	sp := obj{"name": wl.portName, "port": wl.svcPort, "protocol": "TCP"}
	if wl.svcPort != wl.port {
		sp["targetPort"] = wl.portName
	} else {
		sp["targetPort"] = wl.port
	}
	if wl.role == roleGRPC {
		sp["appProtocol"] = "grpc"
	}
	meta := obj{"name": wl.name, "namespace": wl.ns.name, "uid": uid("svc", wl.ns.name+"/"+wl.name), "creationTimestamp": "2026-10-01T09:05:00Z", "resourceVersion": "200"}
	if wl.role == roleWaypoint {
		meta["labels"] = obj{"gateway.istio.io/managed": "istio.io-mesh-controller", "gateway.networking.k8s.io/gateway-name": wl.name, "istio.io/waypoint-for": "service"}
	}
	return obj{"apiVersion": "v1", "kind": "Service", "metadata": meta,
		"spec": obj{"selector": selectorLabels(wl), "ports": []obj{sp}, "type": "ClusterIP",
			"clusterIP": wl.svcIP, "clusterIPs": []string{wl.svcIP}, "ipFamilies": []string{"IPv4"}, "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None"},
		"status": obj{"loadBalancer": obj{}}}
}

func containers(wl *workload, withSidecar bool) []obj {
	image := "registry.example.com/" + wl.ns.name + "/" + wl.name + ":1.4.2"
	name := wl.name
	if wl.role == roleWaypoint || wl.role == roleGateway {
		image, name = "docker.io/istio/proxyv2:1.28.1", "istio-proxy"
	}
	c := obj{"name": name, "image": image, "ports": []obj{{"name": wl.portName, "containerPort": wl.port, "protocol": "TCP"}}}
	switch wl.role {
	case roleWaypoint:
		c["args"] = proxyArgs("waypoint", wl)
	case roleGateway:
		c["args"] = proxyArgs("router", wl)
	}
	out := []obj{c}
	if withSidecar {
		out = append(out, obj{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.1", "args": proxyArgs("sidecar", wl),
			"env":   []obj{{"name": "ISTIO_META_WORKLOAD_NAME", "value": wl.name}, {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"}},
			"ports": []obj{{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}}})
	}
	return out
}

func proxyArgs(kind string, wl *workload) []string {
	return []string{"proxy", kind, "--domain", wl.ns.name + ".svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"}
}

func controllerObjects(wl *workload) []obj {
	sidecar := wl.ns.mode == modeSidecar && wl.role != roleGateway
	ambient := (wl.ns.mode == modeAmbient || wl.ns.mode == modeAmbientWaypoint) && wl.role != roleWaypoint
	podSpec := obj{"serviceAccountName": wl.sa, "containers": containers(wl, sidecar)}
	annotations := obj{}
	if sidecar {
		annotations["sidecar.istio.io/status"] = `{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}`
	}
	if ambient {
		annotations["ambient.istio.io/redirection"] = "enabled"
	}
	tmplLabels := podLabels(wl)
	var out []obj
	ns := wl.ns.name
	switch wl.kind {
	case "Deployment":
		rsName := wl.name + "-" + wl.podHash
		depUID, rsUID := uid("deploy", ns+"/"+wl.name), uid("rs", ns+"/"+rsName)
		out = append(out, obj{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": obj{"name": wl.name, "namespace": ns, "uid": depUID, "generation": 3, "labels": obj{"app": orDefault(wl.app, wl.name)}, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "300"},
			"spec": obj{"replicas": len(wl.podIPs), "selector": obj{"matchLabels": selectorLabels(wl)},
				"template": obj{"metadata": obj{"labels": tmplLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": len(wl.podIPs), "readyReplicas": len(wl.podIPs), "availableReplicas": len(wl.podIPs), "updatedReplicas": len(wl.podIPs), "observedGeneration": 3}})
		rsLabels := copyObj(tmplLabels)
		rsLabels["pod-template-hash"] = wl.podHash
		sel := copyObj(selectorLabels(wl))
		sel["pod-template-hash"] = wl.podHash
		out = append(out, obj{"apiVersion": "apps/v1", "kind": "ReplicaSet",
			"metadata": obj{"name": rsName, "namespace": ns, "uid": rsUID, "labels": rsLabels, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "301",
				"ownerReferences": []obj{{"apiVersion": "apps/v1", "kind": "Deployment", "name": wl.name, "uid": depUID, "controller": true, "blockOwnerDeletion": true}}},
			"spec": obj{"replicas": len(wl.podIPs), "selector": obj{"matchLabels": sel},
				"template": obj{"metadata": obj{"labels": rsLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": len(wl.podIPs), "readyReplicas": len(wl.podIPs), "availableReplicas": len(wl.podIPs)}})
		for i := range wl.podIPs {
			out = append(out, pod(wl, i, rsName+"-", rsLabels, annotations, podSpec,
				obj{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rsName, "uid": rsUID, "controller": true, "blockOwnerDeletion": true}))
		}
	case "StatefulSet":
		stsUID := uid("sts", ns+"/"+wl.name)
		out = append(out, obj{"apiVersion": "apps/v1", "kind": "StatefulSet",
			"metadata": obj{"name": wl.name, "namespace": ns, "uid": stsUID, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "310"},
			"spec": obj{"replicas": len(wl.podIPs), "serviceName": wl.name, "selector": obj{"matchLabels": selectorLabels(wl)},
				"template": obj{"metadata": obj{"labels": tmplLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": len(wl.podIPs), "readyReplicas": len(wl.podIPs), "currentRevision": wl.name + "-5c6d7e8f9a"}})
		for i := range wl.podIPs {
			pl := copyObj(tmplLabels)
			pl["controller-revision-hash"] = wl.name + "-5c6d7e8f9a"
			pl["statefulset.kubernetes.io/pod-name"] = wl.pod(i)
			out = append(out, pod(wl, i, wl.name+"-", pl, annotations, podSpec,
				obj{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": wl.name, "uid": stsUID, "controller": true, "blockOwnerDeletion": true}))
		}
	}
	return out
}

func pod(wl *workload, i int, generateName string, labels, annotations, spec, owner obj) obj {
	name := wl.pod(i)
	meta := obj{"name": name, "generateName": generateName, "namespace": wl.ns.name, "uid": uid("pod", wl.ns.name+"/"+name), "labels": labels,
		"creationTimestamp": "2026-11-18T07:30:00Z", "resourceVersion": "400", "ownerReferences": []obj{owner}}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	ip := wl.podIPs[i]
	return obj{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
		"status": obj{"phase": "Running", "podIP": ip, "podIPs": []obj{{"ip": ip}}, "hostIP": "192.168." + strings.Join(strings.Split(ip, ".")[2:3], "") + ".5", "startTime": "2026-11-18T07:30:01Z"}}
}

func copyObj(o obj) obj {
	out := obj{}
	for k, v := range o {
		out[k] = v
	}
	return out
}
