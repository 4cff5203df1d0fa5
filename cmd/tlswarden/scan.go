package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/preamble"
	"github.com/tlswarden/tlswarden/resolve"
	"github.com/tlswarden/tlswarden/scanner"
	"github.com/tlswarden/tlswarden/scope"
	"github.com/tlswarden/tlswarden/testbed"
)

type scanFlags struct {
	scanningFlags
	file        string
	json        bool
	concurrency int
	verbose     bool
	progress    bool
	demo        bool
	roots       []*x509.Certificate // organisation roots besides the system's (the testbed's private CA)
	profile     string
	allow, deny scope.Prefixes
	userAgent   string
}

func parseScanFlags(args []string, stderr io.Writer) (*scanFlags, []string, error) {
	f := &scanFlags{}
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tlswarden scan [flags] HOST[:PORT]...

Scans each target (default port 443): resolves every A and AAAA address and,
on each, tests SSLv2 to TLS 1.3, every IANA cipher suite per version with the
server's preference, and the key-exchange groups; then judges each endpoint
against a policy profile (findings, compliance, grade).

Exit status: 0 every endpoint scanned and compliant; 1 some endpoint is
non-compliant (this wins over 2); 2 some endpoint could not be scanned or
fully judged, or the command line was wrong.

Flags:
`)
		fs.PrintDefaults()
	}
	f.scanningFlags.register(fs)
	fs.StringVar(&f.file, "f", "", "read targets from `FILE`, one per line (# comments; - for stdin)")
	fs.BoolVar(&f.json, "json", false, "print JSON (one document for one target, JSON Lines for several)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "targets scanned at once, at most (0: as many as the adaptive connection budget keeps busy)")
	fs.BoolVar(&f.verbose, "v", false, "log each endpoint on stderr")
	fs.BoolVar(&f.progress, "progress", isTerminal(os.Stderr), "show progress on stderr")
	fs.BoolVar(&f.demo, "demo", false, "start the built-in testbed of misconfigured endpoints on loopback and scan it")
	fs.Var(&f.allow, "allow-cidr", "scan only public addresses and these `CIDRs` (comma-separated, repeatable); without this or --deny-cidr, anything is scanned, with a warning for non-public addresses")
	fs.Var(&f.deny, "deny-cidr", "never scan these `CIDRs` (comma-separated, repeatable); implies the public-only scope of --allow-cidr")
	fs.StringVar(&f.userAgent, "user-agent", "", "User-Agent of HTTP requests (default \"tlswarden/VERSION (+https://github.com/tlswarden/tlswarden)\")")
	fs.StringVar(&f.profile, "profile", policy.DefaultProfile, "judge against the built-in profile `NAME` or a custom profile FILE (see \"tlswarden profiles\")")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return f, fs.Args(), nil
}

func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, rest, err := parseScanFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitNotScanned
	}
	targets, err := readTargets(rest, f.file, stdin, func(note string) { fmt.Fprintln(stderr, "tlswarden scan:", note) })
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden scan:", err)
		return exitNotScanned
	}
	profile, err := loadProfile(f.profile)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden scan:", err)
		return exitNotScanned
	}
	f.noIntrusive = f.noIntrusive || profile.Params.NoIntrusive
	f.requiredClients = profile.Params.RequiredClients
	labels := map[string]string{}
	if f.demo {
		tb, err := testbed.Start(ctx, nil)
		if err != nil {
			fmt.Fprintln(stderr, "tlswarden scan:", err)
			return exitNotScanned
		}
		defer tb.Close()
		f.roots = append(f.roots, tb.CA)
		f.httpPort = int(tb.PlainHTTP.Port())
		for _, ep := range tb.Endpoints {
			t := tlswarden.Target{Host: ep.Addr.Addr().String(), Port: int(ep.Addr.Port()), Kind: ep.Kind}
			targets = append(targets, t)
			labels[t.String()] = fmt.Sprintf("testbed endpoint %q: %s", ep.Name, ep.Description)
		}
	}
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "tlswarden scan: no targets given (HOST[:PORT] arguments, -f FILE or --demo)")
		return exitNotScanned
	}
	sc, err := newScanner(f, targets, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden scan:", err)
		return exitNotScanned
	}
	defer tuneGC(os.Getenv)()
	out := newReportWriter(f.json, len(targets) > 1, stdout)
	out.labels = labels
	prog := newProgress(f.progress && len(targets) > 1, len(targets), stderr)
	code := exitOK
	sc.ScanAll(ctx, targets, func(r *tlswarden.Report) {
		ev := policy.Evaluate(r, profile, policy.Options{Now: time.Now()})
		code = worseExit(code, exitFor(r, &ev))
		if err := out.write(r, &ev); err != nil {
			fmt.Fprintln(stderr, "tlswarden scan: writing report:", err)
			code = worseExit(code, exitNotScanned)
		}
		prog.done(r)
	})
	prog.finish()
	writeMemProfile("heap", os.Getenv("TLSWARDEN_HEAPPROFILE"), stderr)
	runtime.KeepAlive(sc) // live in the heap profile: what it keeps is what the scan keeps
	return code
}

// exitFor is the exit status one report and its evaluation call for.
func exitFor(r *tlswarden.Report, ev *tlswarden.Evaluation) int {
	switch {
	case ev.Compliance == tlswarden.NonCompliant:
		return exitNonCompliant
	case !r.Scanned() || ev.Compliance != tlswarden.Compliant:
		return exitNotScanned
	}
	return exitOK
}

// worseExit combines exit statuses: a non-compliant endpoint is a definite
// finding and outranks one that could not be scanned, which outranks OK.
func worseExit(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitNonCompliant:
			return 2
		case exitNotScanned:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func newScanner(f *scanFlags, targets []tlswarden.Target, stderr io.Writer) (*scanner.Scanner, error) {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := checkCAFile(f.caFile, f.caFileOnly); err != nil {
		return nil, err
	}
	var sc *scanner.Scanner
	dialPlain := func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return sc.Dial(ctx, a) }
	opts := f.probeOptions(f.roots, f.userAgent)
	var res *resolve.Resolver
	if needsResolver(targets) || f.revocation {
		// A responder named by a host name needs the resolver even when
		// every target is an address.
		var err error
		if res, err = newResolver(f.resolver, f.resolverQPS, log); err != nil {
			return nil, err
		}
		opts.resolveHost = resolveWith(res)
	}
	kindConns, kindSpacing := f.politeness()
	cfg := scanner.Config{
		Probes:              newProbes(opts, dialPlain, log),
		Preambles:           preamble.For,
		Concurrency:         f.concurrency,
		MaxConnsPerAddr:     f.maxConns,
		MaxConnsPerEndpoint: f.maxEndpoint,
		MaxAddresses:        f.maxAddrs,
		KindConns:           kindConns,
		KindSpacing:         kindSpacing,
		ConnectTimeout:      f.timeout,
		EndpointTimeout:     f.endpointTime,
		Logger:              log,

		MaxConnsPerSecond: f.rate,
		Scope:             scanScope(f, log),
	}
	var err error
	if needsResolver(targets) {
		cfg.Resolver = res
		if cfg.MailPolicy, err = mailPolicy(res, dialPlain, opts, f.validating); err != nil {
			return nil, err
		}
	}
	sc, err = scanner.New(cfg)
	return sc, err
}

// scanScope is the scope the flags ask for. With neither --allow-cidr nor
// --deny-cidr, a person scans what they name, and each non-public address
// gets one warning (the demo's own loopback testbed excepted).
func scanScope(f *scanFlags, log *slog.Logger) scanner.Scope {
	if len(f.allow) > 0 || len(f.deny) > 0 {
		return &scope.Policy{Allow: f.allow, Deny: f.deny}
	}
	w := &scope.WarnOnly{Warn: func(a netip.Addr, refusal error) {
		log.Warn("scanning a non-public address: no --allow-cidr or --deny-cidr scope is set", "address", a, "reason", refusal)
	}}
	if f.demo {
		w.Policy.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	return w
}

func needsResolver(ts []tlswarden.Target) bool {
	for _, t := range ts {
		if !t.IsIP() {
			return true
		}
	}
	return false
}

// readTargets parses the arguments and, with -f, the file (or stdin), and
// reports every bad line at once.
// note is told when a port chose a target's kind.
func readTargets(args []string, file string, stdin io.Reader, note func(string)) ([]tlswarden.Target, error) {
	var (
		targets []tlswarden.Target
		errs    []error
	)
	for _, a := range args {
		t, err := parseTargetArg(a, note)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets = append(targets, t)
	}
	if file != "" {
		ts, err := readTargetFile(file, stdin, note)
		targets = append(targets, ts...)
		errs = append(errs, err)
	}
	return targets, errors.Join(errs...)
}

func readTargetFile(name string, stdin io.Reader, note func(string)) ([]tlswarden.Target, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("reading targets: %w", err)
		}
		defer f.Close()
		r = f
	}
	var (
		targets []tlswarden.Target
		errs    []error
	)
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		t, err := parseTargetArg(text, note)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		targets = append(targets, t)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("reading %s: %w", name, err))
	}
	return targets, errors.Join(errs...)
}

// parseTargetArg reads a target as a user wrote it (HOST[:PORT] or
// KIND://HOST[:PORT]); when a bare host:port took its kind from a
// well-known port, note is told, so that nobody wonders why port 25 was
// not scanned as HTTPS.
func parseTargetArg(s string, note func(string)) (tlswarden.Target, error) {
	t, src, err := tlswarden.ParseTargetSpec(s, tlswarden.DefaultPort)
	if err == nil && src == tlswarden.KindFromPort && note != nil {
		note(fmt.Sprintf("%s: port %d is %s's: scanning %s (write https://%s for HTTPS)", strings.TrimSpace(s), t.Port, t.Kind, t.URL(), t))
	}
	return t, err
}

// reportWriter prints reports as a table, one JSON document, or JSON Lines.
type reportWriter struct {
	json, lines bool
	w           io.Writer
	n           int
	labels      map[string]string // shown above a target's table
}

func newReportWriter(asJSON, many bool, w io.Writer) *reportWriter {
	return &reportWriter{json: asJSON, lines: many, w: w}
}

// reportJSON is a report as printed by --json: the report's own fields,
// then the policy's judgement of it (docs/report-schema.md).
type reportJSON struct {
	*tlswarden.Report
	Evaluation *tlswarden.Evaluation `json:"evaluation"`
}

func (rw *reportWriter) write(r *tlswarden.Report, ev *tlswarden.Evaluation) error {
	defer func() { rw.n++ }()
	if !rw.json {
		if rw.n > 0 {
			fmt.Fprintln(rw.w)
		}
		if l, ok := rw.labels[r.Target.String()]; ok {
			fmt.Fprintf(rw.w, "# %s\n", l)
		}
		return writeTable(rw.w, r, ev)
	}
	enc := json.NewEncoder(rw.w)
	if !rw.lines {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(reportJSON{Report: r, Evaluation: ev})
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
