package fleetbench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
)

// cliTimeout is tlswarden scan's --timeout default. The scanner's zero
// Config values are the command's other defaults: the adaptive connection
// budget, 4 connections per endpoint and 16 per address, 5 s connect,
// 2 min per endpoint.
const cliTimeout = 5 * time.Second

// endpointResult is what the scan found on one endpoint.
type endpointResult struct {
	Status tlswarden.Status
	Error  string
	Conns  int
	// DurationMS is how long the endpoint's probes took.
	DurationMS int64
	Suites     suiteSets
	// Cert is the certificate probe's result, when it ran.
	Cert *tlswarden.CertResult
	// Probes is how each probe ended and how long it took.
	Probes []tlswarden.ProbeStatus
	// VersionErrors holds the versions that could not be tested.
	VersionErrors map[tlswarden.Version]string
	// Serial says the endpoint was served one connection at a time.
	Serial bool
	// DoneMS is when its target's report came, from the scan's start.
	DoneMS int64
}

// scanRun sums up one scan of many endpoints.
type scanRun struct {
	Endpoints int
	Conns     int64
	Budget    scanner.BudgetStats
	Failed    []string // "endpoint: status: error", the first few
	FailedN   int
	// Results is per endpoint when kept (the fleet), nil otherwise (10,000).
	Results map[netip.AddrPort]*endpointResult
	start   time.Time
}

// tlsProbe is the probe `tlswarden scan` runs, at its defaults: versions,
// suites and groups.
func tlsProbe() tlswarden.Probe { return probes.TLS(probes.TLSConfig{Timeout: cliTimeout}) }

// tlsAndCertProbes are the TLS and certificate probes at the command's
// defaults, sharing what the TLS probe finds as the command's do.
func tlsAndCertProbes() []tlswarden.Probe {
	shared := probes.NewShared()
	return []tlswarden.Probe{
		probes.TLS(probes.TLSConfig{Timeout: cliTimeout, Shared: shared}),
		probes.Cert(probes.CertConfig{Shared: shared}),
	}
}

// scanOnce runs ps over targets with the scanner at the command's
// defaults, keeping only what the benchmark reports (and, with keep, the
// suites), as the command keeps nothing once a report is written.
func scanOnce(tb testing.TB, ps []tlswarden.Probe, ts []tlswarden.Target, keep bool) *scanRun {
	tb.Helper()
	sc, err := scanner.New(scanner.Config{Probes: ps, Concurrency: benchConcurrency(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	run := &scanRun{Endpoints: len(ts), start: time.Now()}
	if keep {
		run.Results = make(map[netip.AddrPort]*endpointResult, len(ts))
	}
	sc.ScanAll(context.Background(), ts, func(r *tlswarden.Report) { run.add(r) })
	run.Conns = sc.Connections()
	run.Budget = sc.Budget()
	return run
}

func (run *scanRun) add(r *tlswarden.Report) {
	if r.Status != tlswarden.StatusOK {
		run.fail(fmt.Sprintf("%s: %s: %s", r.Target, r.Status, r.Error))
		return
	}
	for _, er := range r.Endpoints {
		if er.Status != tlswarden.StatusOK {
			run.fail(fmt.Sprintf("%s: %s: %s", er.Endpoint, er.Status, er.Error))
		}
		if run.Results != nil {
			res := result(er)
			res.DoneMS = time.Since(run.start).Milliseconds()
			run.Results[er.Endpoint.Addr] = res
		}
	}
}

func (run *scanRun) fail(msg string) {
	run.FailedN++
	if len(run.Failed) < 20 {
		run.Failed = append(run.Failed, msg)
	}
}

func result(er tlswarden.EndpointReport) *endpointResult {
	res := &endpointResult{Status: er.Status, Error: er.Error, Conns: er.Connections, DurationMS: er.DurationMS, Cert: er.Cert, Probes: er.Probes,
		Serial: er.OneConnectionAtATime,
		Suites: suiteSets{}, VersionErrors: map[tlswarden.Version]string{}}
	if er.TLS == nil {
		return res
	}
	for _, vr := range er.TLS.Versions {
		if vr.Error != "" {
			res.VersionErrors[vr.Version] = vr.Error
		}
		if !vr.Supported {
			continue
		}
		codes := make([]uint16, 0, len(vr.Suites))
		for _, s := range vr.Suites {
			codes = append(codes, s.Code)
		}
		slices.Sort(codes)
		res.Suites[vr.Version] = codes
	}
	return res
}

// report adds the scan's figures to the benchmark's metrics and logs the
// endpoints that failed.
func (run *scanRun) report(b *testing.B, perScan time.Duration, heap, rss uint64) {
	b.ReportMetric(float64(run.Endpoints)/perScan.Seconds(), "endpoints/s")
	b.ReportMetric(float64(run.Conns)/float64(run.Endpoints), "conns/endpoint")
	b.ReportMetric(mb(heap), "peak-heap-MB")
	b.ReportMetric(mb(rss), "peak-RSS-MB")
	b.ReportMetric(float64(run.FailedN), "failed-endpoints")
	for _, f := range run.Failed {
		b.Logf("not scanned: %s", f)
	}
	if run.FailedN > len(run.Failed) {
		b.Logf("... and %d more endpoints not scanned", run.FailedN-len(run.Failed))
	}
}

// benchConcurrency reads TLSWARDEN_BENCH_CONCURRENCY, the scanner's
// Concurrency (as scan --concurrency): 0, the default, leaves it to the
// adaptive budget; 16 was the command's fixed default before it.
func benchConcurrency(tb testing.TB) int {
	v := os.Getenv("TLSWARDEN_BENCH_CONCURRENCY")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("TLSWARDEN_BENCH_CONCURRENCY=%q: want a number of targets", v)
	}
	return n
}
