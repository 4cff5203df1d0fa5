// Command tlswarden scans TLS endpoints, reports the versions, cipher
// suites and key-exchange groups they accept, and judges them against a
// policy profile.
//
// Usage:
//
//	tlswarden scan [flags] HOST[:PORT]...
//	tlswarden evaluate [--profile P] REPORT.json...
//	tlswarden serve [--demo] [flags]
//	tlswarden worker [flags]
//	tlswarden migrate [flags]
//	tlswarden targets add|list|rm|import|scan [flags] ...
//	tlswarden tokens create|list|revoke [flags] ...
//	tlswarden waivers request|approve|revoke|list|audit [flags] ...
//	tlswarden subscriptions add|list|remove|disable|enable|deliveries [flags] ...
//	tlswarden profiles [NAME|FILE]
//	tlswarden version
//
// Run "tlswarden scan -h" for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes shared by every command.
const (
	exitOK           = 0 // every endpoint was scanned and is compliant
	exitNonCompliant = 1 // some endpoint is non-compliant with the policy profile
	exitNotScanned   = 2 // some endpoint could not be scanned or judged, or the command line was wrong
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("TLSWARDEN_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	writeMemProfile("allocs", os.Getenv("TLSWARDEN_ALLOCSPROFILE"), os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitNotScanned
	}
	switch args[0] {
	case "scan":
		return runScan(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "evaluate":
		return runEvaluate(ctx, args[1:], stdin, stdout, stderr)
	case "worker":
		return runWorker(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "targets":
		return runTargets(ctx, args[1:], stdin, stdout, stderr)
	case "tokens":
		return runTokens(ctx, args[1:], stdout, stderr)
	case "waivers":
		return runWaivers(ctx, args[1:], stdout, stderr)
	case "subscriptions":
		return runSubscriptions(ctx, args[1:], stdin, stdout, stderr)
	case "profiles":
		return runProfiles(args[1:], stdout, stderr)
	case "clients":
		return runClients(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tlswarden", version)
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "tlswarden: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitNotScanned
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tlswarden watches TLS endpoints for policy compliance.

Commands:
  scan HOST[:PORT]...   scan endpoints once, print what they accept and judge them
  evaluate REPORT.json  judge saved reports again (another profile, waivers), without scanning
  serve [--demo]        run the service: API, nightly scans, workers, history
                        (--demo: scan a built-in testbed of misconfigured endpoints)
  worker                run scan workers only, sharing a Postgres with serve
  migrate               bring the store's schema up to date
  targets COMMAND       add, list, rm, import (YAML) or scan registered targets
  tokens COMMAND        create, list or revoke the API's bearer tokens
  waivers COMMAND       request, approve, revoke, list or audit waivers
  subscriptions COMMAND add, list, remove or disable notification subscriptions;
                        list their deliveries
  profiles [NAME|FILE]  list the policy profiles and their rules
  clients [-all]        list the clients of the client simulation (IDs for required_clients)
  version               print the version

Run "tlswarden COMMAND -h" for a command's flags.
`)
}
