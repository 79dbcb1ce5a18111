// Package accesslog learns edges from Envoy (sidecar, gateway, waypoint) and
// ztunnel access logs, in text or JSON or any Envoy format string, and folds
// them into an observation snapshot.
package accesslog
