package main

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
)

type obj = map[string]any

// writeInventory writes what
// `kubectl get namespaces,serviceaccounts,services,deployments,statefulsets,daemonsets,replicasets,pods -A -o json`
// prints for the demo mesh: a v1 List.
func writeInventory(w io.Writer) error {
	var items []obj
	for _, n := range namespaces {
		labels := obj{"kubernetes.io/metadata.name": n.name}
		for k, v := range n.labels {
			labels[k] = v
		}
		items = append(items, obj{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": obj{"name": n.name, "labels": labels, "uid": uid("ns", n.name), "creationTimestamp": "2026-10-01T09:00:00Z", "resourceVersion": "100"},
			"spec":     obj{"finalizers": []string{"kubernetes"}},
			"status":   obj{"phase": "Active"},
		})
	}
	sas := map[[2]string]bool{}
	for _, n := range namespaces {
		sas[[2]string{n.name, "default"}] = true
	}
	for _, wl := range workloads {
		sas[[2]string{wl.ns, wl.sa}] = true
	}
	for _, n := range namespaces {
		for _, sa := range sortedSAs(sas, n.name) {
			items = append(items, obj{
				"apiVersion": "v1", "kind": "ServiceAccount",
				"metadata": obj{"name": sa, "namespace": n.name, "uid": uid("sa", n.name+"/"+sa), "creationTimestamp": "2026-10-01T09:00:00Z", "resourceVersion": "101"},
			})
		}
	}
	for _, wl := range workloads {
		if svc := service(wl); svc != nil {
			items = append(items, svc)
		}
	}
	for _, wl := range workloads {
		items = append(items, controllerObjects(wl)...)
	}
	list := obj{"apiVersion": "v1", "kind": "List", "items": items, "metadata": obj{"resourceVersion": ""}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(list)
}

func sortedSAs(sas map[[2]string]bool, ns string) []string {
	var out []string
	for k := range sas {
		if k[0] == ns {
			out = append(out, k[1])
		}
	}
	sort.Strings(out)
	return out
}

func uid(kind, name string) string {
	// A stable, UUID-shaped id from the name.
	var h uint64 = 1469598103934665603
	for _, c := range kind + "/" + name {
		h ^= uint64(c)
		h *= 1099511628211
	}
	s := strings.Repeat("0", 32) + formatHex(h) + formatHex(h*31+7)
	s = s[len(s)-32:]
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func formatHex(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

func selectorLabels(wl workload) obj {
	if wl.waypoint {
		return obj{"gateway.networking.k8s.io/gateway-name": wl.name}
	}
	if wl.name == "istio-ingressgateway" {
		return obj{"app": "istio-ingressgateway", "istio": "ingressgateway"}
	}
	return obj{"app": wl.app}
}

func podLabels(wl workload) obj {
	l := selectorLabels(wl)
	if wl.version != "" {
		l["version"] = wl.version
	}
	if wl.waypoint {
		l["gateway.istio.io/managed"] = "istio.io-mesh-controller"
		l["gateway.networking.k8s.io/gateway-class-name"] = "istio-waypoint"
		l["istio.io/dataplane-mode"] = "none"
	}
	if nsOf(wl.ns).sidecar && !wl.noSidecar {
		l["security.istio.io/tlsMode"] = "istio"
		l["service.istio.io/canonical-name"] = orDefault(wl.app, wl.name)
		l["service.istio.io/canonical-revision"] = orDefault(wl.version, "latest")
	}
	return l
}

func service(wl workload) obj {
	var ports []obj
	for _, p := range wl.ports {
		if p.svcPort == 0 {
			continue
		}
		sp := obj{"name": p.name, "port": p.svcPort, "protocol": p.proto}
		// A named targetPort where the Service port differs, as many charts
		// write it; a number otherwise.
		if p.svcPort != p.port {
			sp["targetPort"] = p.name
		} else {
			sp["targetPort"] = p.port
		}
		if strings.HasPrefix(p.name, "grpc") {
			sp["appProtocol"] = "grpc"
		}
		ports = append(ports, sp)
	}
	if len(ports) == 0 {
		return nil
	}
	meta := obj{"name": wl.name, "namespace": wl.ns, "uid": uid("svc", wl.ns+"/"+wl.name), "creationTimestamp": "2026-10-01T09:05:00Z", "resourceVersion": "200"}
	if wl.waypoint {
		meta["labels"] = obj{"gateway.istio.io/managed": "istio.io-mesh-controller", "gateway.networking.k8s.io/gateway-name": wl.name, "istio.io/waypoint-for": "service"}
	}
	return obj{
		"apiVersion": "v1", "kind": "Service", "metadata": meta,
		"spec": obj{
			"selector": selectorLabels(wl), "ports": ports, "type": "ClusterIP",
			"clusterIP": clusterIP(wl), "clusterIPs": []string{clusterIP(wl)},
			"ipFamilies": []string{"IPv4"}, "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
		},
		"status": obj{"loadBalancer": obj{}},
	}
}

func clusterIP(wl workload) string {
	// 10.96.x.y mirroring the pod address.
	parts := strings.Split(wl.podIP, ".")
	return "10.96." + parts[2] + "." + parts[3]
}

func containers(wl workload, withSidecar bool) []obj {
	var ports []obj
	for _, p := range wl.ports {
		ports = append(ports, obj{"name": p.name, "containerPort": p.port, "protocol": p.proto})
	}
	image := "registry.example.com/shop/" + wl.name + ":1.4.2"
	name := wl.name
	if wl.waypoint || wl.name == "istio-ingressgateway" {
		image, name = "docker.io/istio/proxyv2:1.28.1", "istio-proxy"
	}
	c := obj{"name": name, "image": image}
	if len(ports) > 0 {
		c["ports"] = ports
	}
	switch {
	case wl.waypoint:
		c["args"] = proxyArgs("waypoint", wl)
	case wl.name == "istio-ingressgateway":
		c["args"] = proxyArgs("router", wl)
	}
	out := []obj{c}
	if withSidecar {
		out = append(out, obj{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.1",
			"args":  proxyArgs("sidecar", wl),
			"env":   []obj{{"name": "ISTIO_META_WORKLOAD_NAME", "value": wl.name}, {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"}},
			"ports": []obj{{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}}})
	}
	return out
}

// proxyArgs are the arguments istio-proxy containers run with: the proxy
// type (sidecar, router, waypoint) tells what the pod is.
func proxyArgs(kind string, wl workload) []string {
	return []string{"proxy", kind, "--domain", wl.ns + ".svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"}
}

func controllerObjects(wl workload) []obj {
	sidecar := nsOf(wl.ns).sidecar && !wl.noSidecar
	ambient := nsOf(wl.ns).ambient && !wl.waypoint
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
	switch wl.kind {
	case "Deployment":
		hash, _, _ := strings.Cut(wl.podHash, "-")
		rsName := wl.name + "-" + hash
		depUID, rsUID := uid("deploy", wl.ns+"/"+wl.name), uid("rs", wl.ns+"/"+rsName)
		out = append(out, obj{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": obj{"name": wl.name, "namespace": wl.ns, "uid": depUID, "generation": 3, "labels": obj{"app": orDefault(wl.app, wl.name)}, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "300"},
			"spec": obj{"replicas": 1, "selector": obj{"matchLabels": selectorLabels(wl)},
				"template": obj{"metadata": obj{"labels": tmplLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1, "observedGeneration": 3},
		})
		rsLabels := copyObj(tmplLabels)
		rsLabels["pod-template-hash"] = hash
		out = append(out, obj{
			"apiVersion": "apps/v1", "kind": "ReplicaSet",
			"metadata": obj{"name": rsName, "namespace": wl.ns, "uid": rsUID, "labels": rsLabels, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "301",
				"ownerReferences": []obj{{"apiVersion": "apps/v1", "kind": "Deployment", "name": wl.name, "uid": depUID, "controller": true, "blockOwnerDeletion": true}}},
			"spec": obj{"replicas": 1, "selector": obj{"matchLabels": merge2(selectorLabels(wl), obj{"pod-template-hash": hash})},
				"template": obj{"metadata": obj{"labels": rsLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
		})
		out = append(out, pod(wl, rsName+"-", rsLabels, annotations, podSpec, obj{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rsName, "uid": rsUID, "controller": true, "blockOwnerDeletion": true}))
	case "StatefulSet":
		stsUID := uid("sts", wl.ns+"/"+wl.name)
		out = append(out, obj{
			"apiVersion": "apps/v1", "kind": "StatefulSet",
			"metadata": obj{"name": wl.name, "namespace": wl.ns, "uid": stsUID, "creationTimestamp": "2026-10-01T09:10:00Z", "resourceVersion": "310"},
			"spec": obj{"replicas": 1, "serviceName": wl.name, "selector": obj{"matchLabels": selectorLabels(wl)},
				"template": obj{"metadata": obj{"labels": tmplLabels}, "spec": obj{"serviceAccountName": wl.sa, "containers": containers(wl, false)}}},
			"status": obj{"replicas": 1, "readyReplicas": 1, "currentRevision": wl.name + "-5c6d7e8f9a"},
		})
		pl := copyObj(tmplLabels)
		pl["controller-revision-hash"] = wl.name + "-5c6d7e8f9a"
		pl["statefulset.kubernetes.io/pod-name"] = wl.name + "-0"
		out = append(out, pod(wl, wl.name+"-", pl, annotations, podSpec, obj{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": wl.name, "uid": stsUID, "controller": true, "blockOwnerDeletion": true}))
	}
	return out
}

// pod returns a Pod as its controller creates it: named from generateName.
func pod(wl workload, generateName string, labels, annotations, spec, owner obj) obj {
	meta := obj{"name": podName(wl), "generateName": generateName, "namespace": wl.ns, "uid": uid("pod", wl.ns+"/"+podName(wl)), "labels": labels,
		"creationTimestamp": "2026-11-18T07:30:00Z", "resourceVersion": "400", "ownerReferences": []obj{owner}}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	return obj{
		"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
		"status": obj{"phase": "Running", "podIP": wl.podIP, "podIPs": []obj{{"ip": wl.podIP}}, "hostIP": "192.168.10.5", "startTime": "2026-11-18T07:30:01Z"},
	}
}

func copyObj(o obj) obj {
	out := obj{}
	for k, v := range o {
		out[k] = v
	}
	return out
}

func merge2(a, b obj) obj {
	out := copyObj(a)
	for k, v := range b {
		out[k] = v
	}
	return out
}
