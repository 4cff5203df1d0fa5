package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/preamble"
	"github.com/tlswarden/tlswarden/scanner"
	"github.com/tlswarden/tlswarden/scope"
)

// storeFlags say where the store is: every command that uses it has them.
type storeFlags struct {
	dataDir     string
	databaseURL string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", envOr("TLSWARDEN_DATA_DIR", defaultDataDir()),
		"`DIR` of the embedded SQLite store (env TLSWARDEN_DATA_DIR)")
	f.databaseURL = os.Getenv("DATABASE_URL")
	fs.Var(databaseURLFlag{&f.databaseURL}, "database-url",
		"Postgres `URL` to use instead of the embedded store (env DATABASE_URL, preferred: a flag shows in ps)")
}

// defaultDataDir is $XDG_STATE_HOME/tlswarden when XDG_STATE_HOME is set,
// else ./data.
func defaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tlswarden")
	}
	return "data"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// scanFlagsSvc are the scanning settings of serve and worker.
type scanFlagsSvc struct {
	scanningFlags
	profile     string
	allow, deny scope.Prefixes
}

func (f *scanFlagsSvc) register(fs *flag.FlagSet) {
	f.scanningFlags.register(fs)
	fs.StringVar(&f.profile, "profile", envOr("TLSWARDEN_PROFILE", policy.DefaultProfile), "judge scans against the built-in profile `NAME` or a custom profile FILE (env TLSWARDEN_PROFILE)")
	fs.Var(&f.allow, "allow-cidr", "also scan these non-public `CIDRs` (comma-separated, repeatable); only public addresses are scanned otherwise")
	fs.Var(&f.deny, "deny-cidr", "never scan these `CIDRs` (comma-separated, repeatable)")
}

// newServiceScanner builds the scanner of serve and worker. Unlike the
// one-shot scan, the service scans only what its scope allows: public
// addresses and those --allow-cidr names, because anyone who can write to
// the registry chooses what it connects to. roots, when given, are trusted
// as an organisation's roots, beside --ca-file's and the system's public
// roots (the demo trusts its testbed's private CA).
func newServiceScanner(f *scanFlagsSvc, roots []*x509.Certificate, log *slog.Logger) (*scanner.Scanner, error) {
	if err := checkCAFile(f.caFile, f.caFileOnly); err != nil {
		return nil, err
	}
	var sc *scanner.Scanner
	dialPlain := func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return sc.Dial(ctx, a) }
	opts := f.probeOptions(roots, "")
	res, err := newResolver(f.resolver, f.resolverQPS, log)
	if err != nil {
		return nil, err
	}
	opts.resolveHost = resolveWith(res)
	checkMail, err := mailPolicy(res, dialPlain, opts, f.validating)
	if err != nil {
		return nil, err
	}
	kindConns, kindSpacing := f.politeness()
	sc, err = scanner.New(scanner.Config{
		Resolver:            res,
		Probes:              newProbes(opts, dialPlain, log),
		Preambles:           preamble.For,
		MailPolicy:          checkMail,
		MaxConnsPerAddr:     f.maxConns,
		MaxConnsPerEndpoint: f.maxEndpoint,
		MaxAddresses:        f.maxAddrs,
		KindConns:           kindConns,
		KindSpacing:         kindSpacing,
		MaxConnsPerSecond:   f.rate,
		Scope:               &scope.Policy{Allow: f.allow, Deny: f.deny},
		ConnectTimeout:      f.timeout,
		EndpointTimeout:     f.endpointTime,
		Logger:              log,
	})
	return sc, err
}

// newLogger logs text lines at level to w.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
