// Package synth turns an observation snapshot into the narrowest Istio
// AuthorizationPolicy and PeerAuthentication set that still admits every
// observed and allowed request, with the evidence and warnings behind each rule.
package synth
