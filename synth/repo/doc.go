// Package repo applies emit's rendered files to a policy directory (usually
// a Git work tree), rewriting and pruning only the files meshgen manages and
// swapping the whole change in or leaving the old tree in place.
package repo
