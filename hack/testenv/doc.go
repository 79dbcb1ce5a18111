// Package testenv runs the real servers meshgen's integration tests need (Prometheus, etcd with
// kube-apiserver and Istio's CRDs, istioctl) on loopback, and stops them when the test binary exits.
package testenv
