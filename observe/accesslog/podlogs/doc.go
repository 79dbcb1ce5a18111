// Package podlogs streams the access logs of Istio's proxies (sidecars and
// gateways, waypoints, ztunnels) through the Kubernetes API server, as
// inputs for package accesslog.
package podlogs
