// Package render turns a synthesis result into deterministic YAML (with the
// evidence behind each rule in comments), a directory tree of manifests, and a
// human summary.
package render
