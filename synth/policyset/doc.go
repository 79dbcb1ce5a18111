// Package policyset loads the Istio security policies meshgen checks and
// diffs, from YAML files or from a cluster, into an evaluator policy set.
package policyset
