package main

import (
	"context"
	"io"
)

// runWorker is `tlswarden worker`: scan workers only, until SIGINT or
// SIGTERM, then a drain.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := NewMain(stdout, stderr)
	m.Worker = true
	return runService(ctx, m, args)
}
