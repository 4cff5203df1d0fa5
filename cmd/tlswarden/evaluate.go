package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
)

// maxReportBytes bounds what evaluate reads: a report of a few hundred
// endpoints is a few megabytes.
const maxReportBytes = 256 << 20

type evaluateFlags struct {
	profile string
	waivers string
	json    bool
	at      string
}

func parseEvaluateFlags(args []string, stderr io.Writer) (*evaluateFlags, []string, error) {
	f := &evaluateFlags{}
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tlswarden evaluate [flags] REPORT.json...

Judges saved reports again, without scanning: the output of "tlswarden scan
--json" (one document or JSON Lines), or a stored scan's result from the API
(GET /api/v1/scans/ID/result). The evaluation saved with a report is
ignored; the report's facts are judged against --profile, whose waivers
apply, or against the waivers in --waivers instead. "-" reads standard
input.

Exit status as for scan: 0 compliant, 1 non-compliant, 2 not scanned or
not fully judged, or the command line was wrong.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.profile, "profile", policy.DefaultProfile, "judge against the built-in profile `NAME` or a custom profile FILE")
	fs.StringVar(&f.waivers, "waivers", "", "apply the waivers in YAML `FILE` (a list, as a profile's \"waivers\") instead of the profile's; an empty file or list applies none")
	fs.BoolVar(&f.json, "json", false, "print JSON as scan --json does")
	fs.StringVar(&f.at, "at", "now", "judge certificates and waivers as of `TIME`: now, scan (when the report was taken) or an RFC 3339 time")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, errors.New("no report given")
	}
	return f, fs.Args(), nil
}

// judgeTime is the time --at names; zero means the report's own finish
// time (policy.Options' default).
func (f *evaluateFlags) judgeTime(now time.Time) (time.Time, error) {
	switch f.at {
	case "now":
		return now, nil
	case "scan":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, f.at)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want now, scan or an RFC 3339 time", f.at)
	}
	return t, nil
}

func runEvaluate(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, files, err := parseEvaluateFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitNotScanned
	}
	at, err := f.judgeTime(time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden evaluate:", err)
		return exitNotScanned
	}
	profile, err := loadProfile(f.profile)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden evaluate:", err)
		return exitNotScanned
	}
	if f.waivers != "" {
		if profile, err = withWaiversFile(profile, f.waivers); err != nil {
			fmt.Fprintln(stderr, "tlswarden evaluate:", err)
			return exitNotScanned
		}
	}
	var reports []*tlswarden.Report
	for _, name := range files {
		rs, err := readReports(name, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "tlswarden evaluate:", err)
			return exitNotScanned
		}
		reports = append(reports, rs...)
	}
	out := newReportWriter(f.json, len(reports) > 1, stdout)
	code := exitOK
	for _, r := range reports {
		ev := policy.Evaluate(r, profile, policy.Options{Now: at})
		code = worseExit(code, exitFor(r, &ev))
		if err := out.write(r, &ev); err != nil {
			fmt.Fprintln(stderr, "tlswarden evaluate: writing report:", err)
			return exitNotScanned
		}
	}
	return code
}

// withWaiversFile returns a copy of profile whose waivers are those in
// the named file, not its own.
func withWaiversFile(profile *policy.Profile, name string) (*policy.Profile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading waivers: %w", err)
	}
	var ws []tlswarden.Waiver
	if len(bytes.TrimSpace(data)) > 0 {
		if ws, err = policy.ParseWaivers(name, data, profile); err != nil {
			return nil, err
		}
	}
	p := profile.Clone()
	p.Waivers = ws
	return p, nil
}

// readReports reads every report in a file (or stdin for "-"): a sequence
// of JSON documents, each a report (with or without its evaluation) or a
// stored scan's result ({"report": ..., "evaluation": ...}).
func readReports(name string, stdin io.Reader) ([]*tlswarden.Report, error) {
	r := stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("reading report: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	dec := json.NewDecoder(io.LimitReader(r, maxReportBytes))
	var out []*tlswarden.Report
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, n, err)
		}
		rep, err := decodeReport(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, n, err)
		}
		out = append(out, rep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no report in it", name)
	}
	return out, nil
}

// decodeReport reads one report document in either shape and checks that
// it is a tlswarden report of a schema this build understands.
func decodeReport(raw json.RawMessage) (*tlswarden.Report, error) {
	var wrapped struct {
		Report json.RawMessage `json:"report"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if len(bytes.TrimSpace(wrapped.Report)) > 0 {
		raw = wrapped.Report
	}
	var rep tlswarden.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("not a tlswarden report: %w", err)
	}
	if rep.Schema != tlswarden.ReportSchema {
		return nil, fmt.Errorf("schema %q, want %q", rep.Schema, tlswarden.ReportSchema)
	}
	return &rep, nil
}
