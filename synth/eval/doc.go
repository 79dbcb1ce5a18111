// Package eval decides requests against Istio AuthorizationPolicies and
// PeerAuthentications at a sidecar, ztunnel or waypoint exactly as Istio does,
// and replays observed traffic against a policy set.
package eval
