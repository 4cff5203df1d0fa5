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
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/resolve"
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
	fs.StringVar(&f.databaseURL, "database-url", os.Getenv("DATABASE_URL"),
		"Postgres `URL` to use instead of the embedded store (env DATABASE_URL)")
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
	profile      string
	caFile       string
	resolver     string
	timeout      time.Duration
	endpointTime time.Duration
	maxConns     int
	rate         float64
	httpPort     int
	noHTTP       bool
	allow, deny  scope.Prefixes
}

func (f *scanFlagsSvc) register(fs *flag.FlagSet) {
	fs.StringVar(&f.profile, "profile", envOr("TLSWARDEN_PROFILE", policy.DefaultProfile), "judge scans against the built-in profile `NAME` or a custom profile FILE (env TLSWARDEN_PROFILE)")
	fs.StringVar(&f.caFile, "ca-file", "", "trust the CA certificates in PEM `FILE` instead of the system roots (like curl --cacert)")
	fs.StringVar(&f.resolver, "resolver", "", "DNS server `HOST:PORT` (default: from /etc/resolv.conf)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "deadline for each connection and handshake")
	fs.DurationVar(&f.endpointTime, "endpoint-timeout", 2*time.Minute, "deadline for all tests of one endpoint")
	fs.IntVar(&f.maxConns, "max-conns-per-address", 4, "simultaneous connections to one address")
	fs.Float64Var(&f.rate, "rate", 0, "open at most `N` connections per second in all (0: no limit)")
	fs.IntVar(&f.httpPort, "http-port", 80, "`PORT` of the plain-HTTP redirect check")
	fs.BoolVar(&f.noHTTP, "no-http", false, "skip the HTTP security-header and plain-HTTP checks")
	fs.Var(&f.allow, "allow-cidr", "also scan these non-public `CIDRs` (comma-separated, repeatable); only public addresses are scanned otherwise")
	fs.Var(&f.deny, "deny-cidr", "never scan these `CIDRs` (comma-separated, repeatable)")
}

// newServiceScanner builds the scanner of serve and worker. Unlike the
// one-shot scan, the service scans only what its scope allows: public
// addresses and those --allow-cidr names, because anyone who can write to
// the registry chooses what it connects to. roots, when given, are trusted
// as well as --ca-file and replace the system's roots (the demo trusts its
// testbed's CA).
func newServiceScanner(f *scanFlagsSvc, roots []*x509.Certificate, log *slog.Logger) (*scanner.Scanner, error) {
	var sc *scanner.Scanner
	probeList := []tlswarden.Probe{
		probes.TLS(probes.TLSConfig{Timeout: f.timeout, Logger: log}),
		probes.Cert(probes.CertConfig{Roots: roots, CAFile: f.caFile, Timeout: 3 * f.timeout, Logger: log}),
	}
	if !f.noHTTP {
		probeList = append(probeList, probes.HTTP(probes.HTTPConfig{
			Timeout:   2 * f.timeout,
			PlainPort: f.httpPort,
			UserAgent: "tlswarden/" + version + " (+https://github.com/tlswarden/tlswarden)",
			// The plain-HTTP connection shares the address's connection cap
			// and the scope check.
			DialPlain: func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return sc.Dial(ctx, a) },
			Logger:    log,
		}))
	}
	rcfg := resolve.Config{Logger: log}
	if f.resolver != "" {
		rcfg.Servers = []string{f.resolver}
	}
	res, err := resolve.New(rcfg)
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	sc, err = scanner.New(scanner.Config{
		Resolver:          res,
		Probes:            probeList,
		MaxConnsPerAddr:   f.maxConns,
		MaxConnsPerSecond: f.rate,
		Scope:             &scope.Policy{Allow: f.allow, Deny: f.deny},
		ConnectTimeout:    f.timeout,
		EndpointTimeout:   f.endpointTime,
		Logger:            log,
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
