// Package templates holds the text/template files of meshgen's human-readable
// reports, embedded in the binary and overridable by file name with
// --template-dir.
package templates
