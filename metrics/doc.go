// Package metrics holds everything Prometheus sees of tlswarden: the
// registry with the Go, process and build collectors (NewRegistry), the
// estate's posture read from the store at scrape time (RegisterPosture),
// the scanner's and the jobs' operational metrics (NewOperations,
// RegisterQueueDepth), and the handler that serves them (Handler), which
// writes the posture's per-endpoint series itself, in the text format.
package metrics
