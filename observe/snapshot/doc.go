// Package snapshot defines the observation snapshot, the versioned file that
// learn writes and emit, check and diff read, with its reader, writer and merge.
package snapshot
