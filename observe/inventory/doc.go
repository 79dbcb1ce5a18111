// Package inventory reads the cluster inventory (namespaces, workloads,
// Services and waypoints) from a cluster through client-go, or from the JSON or
// YAML List that `kubectl get ... -o json` prints.
package inventory
