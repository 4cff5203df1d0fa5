package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/policy"
)

// runProfiles lists the built-in profiles and their rules, or shows one
// profile (built-in or a custom file) in full.
func runProfiles(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("profiles", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tlswarden profiles [NAME|FILE]

Without an argument, lists the built-in policy profiles and their rules.
With a profile name or a custom profile file (YAML, see docs/policies.md),
shows that profile in full: thresholds, rules and rationales, waivers.
A file is checked as it is read: errors name the line.
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitNotScanned
	}
	if fs.NArg() == 0 {
		for i, p := range policy.Builtins() {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			writeProfile(stdout, p, false)
		}
		return exitOK
	}
	p, err := loadProfile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden profiles:", err)
		return exitNotScanned
	}
	writeProfile(stdout, p, true)
	return exitOK
}

// loadProfile returns the built-in profile of that name, or reads a custom
// profile from the file of that name.
func loadProfile(nameOrFile string) (*policy.Profile, error) {
	if p, ok := policy.Builtin(nameOrFile); ok {
		return p, nil
	}
	data, err := os.ReadFile(nameOrFile)
	if errors.Is(err, os.ErrNotExist) {
		var names []string
		for _, p := range policy.Builtins() {
			names = append(names, p.Name)
		}
		return nil, fmt.Errorf("no built-in profile or file %q (built-in: %s)", nameOrFile, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	p, err := policy.Parse(nameOrFile, data)
	if err != nil {
		return nil, err
	}
	return p, checkRequiredClients(p)
}

// writeProfile prints a profile's identity and rules; full adds the
// thresholds, the rationales and the waivers.
func writeProfile(w io.Writer, p *policy.Profile, full bool) {
	fmt.Fprintf(w, "%s %s\n", p.Name, p.Version)
	if p.Extends != "" {
		fmt.Fprintf(w, "  extends: %s\n", p.Extends)
	}
	fmt.Fprintf(w, "  source:  %s\n", p.Source)
	if p.Description != "" {
		fmt.Fprintf(w, "  about:   %s\n", p.Description)
	}
	fmt.Fprintf(w, "  non-compliant on an unwaived failure at severity %s or above\n", p.FailAt)
	if full {
		writeParams(w, &p.Params)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range p.Rules {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Rule.ID, r.Severity, r.Rule.Title)
		if full {
			fmt.Fprintf(tw, "  \t\t  %s\n", r.Rule.Rationale)
		}
	}
	tw.Flush()
	for _, wv := range p.Waivers {
		fmt.Fprintf(w, "  waiver: %s on %s until %s: %s\n", wv.Rule, wv.Target, wv.Expires.Format("2006-01-02"), wv.Reason)
	}
}

func writeParams(w io.Writer, p *policy.Params) {
	fmt.Fprintf(w, "  min_version %s, min_dh_bits %d, min_ecdh_bits %d, min_rsa_bits %d\n",
		p.MinVersion, p.MinDHBits, p.MinECDHBits, p.MinRSABits)
	fmt.Fprintf(w, "  expiry_warning_days %d, min_lifetime_left_percent %.0f, max_cert_lifespan_days %d\n",
		p.ExpiryWarningDays, 100*p.MinLifetimeLeft, p.MaxCertLifespanDays)
	fmt.Fprintf(w, "  hsts_min_max_age %d, min_header_score %d\n", p.HSTSMinMaxAge, p.MinHeaderScore)
	for _, l := range []struct {
		name  string
		codes []uint16
	}{{"tls12_suites", p.TLS12Suites}, {"tls13_suites", p.TLS13Suites}} {
		if l.codes != nil {
			names := make([]string, len(l.codes))
			for i, c := range l.codes {
				names[i] = iana.SuiteName(c)
			}
			fmt.Fprintf(w, "  %s: %s\n", l.name, strings.Join(names, ", "))
		}
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"cert_key_types", p.CertKeyTypes}, {"cert_curves", p.CertCurves}, {"cert_signatures", p.CertSignatures}, {"required_clients", p.RequiredClients}} {
		if l.list != nil {
			fmt.Fprintf(w, "  %s: %s\n", l.name, strings.Join(l.list, ", "))
		}
	}
}
