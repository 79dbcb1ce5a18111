// Package prometheus learns an observation snapshot (edges and an inferred
// inventory) from Istio's standard metrics in Prometheus, Thanos or Mimir.
package prometheus
