//go:build !unix

package repo

// lockDir does nothing where there is no flock(2): one run at a time per
// directory is then the caller's to ensure.
func lockDir(string) (func(), error) { return func() {}, nil }
