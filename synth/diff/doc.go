// Package diff compares a proposed policy set with a deployed one: the
// objects (normalised YAML, unified diffs), the access each namespace gains
// and loses (computed with the evaluator over observed traffic), and the
// deployed policies meshgen does not manage that Istio combines with it.
package diff
