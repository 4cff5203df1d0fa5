package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// runMigrate is `tlswarden migrate`: brings the store's schema and the
// job queue's tables up to date. serve and worker do it at start too; this
// is for deployments that migrate as a step of their own.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tlswarden migrate [flags]

Brings the store's schema and the job queue's tables up to date. Safe to run
while other processes run or migrate; does nothing when nothing is missing.

Flags:
`)
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitNotScanned
	}
	b, err := openBackend(ctx, sf.dataDir, sf.databaseURL, true)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden migrate:", err)
		return exitFailed
	}
	b.Close()
	fmt.Fprintf(stdout, "%s: schema up to date\n", b.where)
	return exitOK
}
