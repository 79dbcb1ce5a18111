// Package paths turns observed request paths into the values of an Istio AuthorizationPolicy `paths` list,
// generalising identifiers into path templates, and matches such values exactly as Istio and Envoy do.
package paths
