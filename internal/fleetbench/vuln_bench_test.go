package fleetbench

import (
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/vuln"
)

// BenchmarkWeaknessCost measures what the weakness checks cost on the
// fleet. Each iteration scans it with the TLS probe alone (versions,
// suites and groups: the command's defaults), then with the TLS probe and
// the weakness probe (every check, the intrusive ones too), then runs
// nmap's ssl-enum-ciphers on the same ports, which runs none of them. It
// reports, per endpoint, the connections and the servers' CPU time of both
// scans and of the checks (the difference), the medians of the three wall
// times, and the median of nmap's over the scan with the checks, run by
// run. Only the scan with the checks is timed.
func BenchmarkWeaknessCost(b *testing.B) {
	eps := startFleet(b)
	ts := targets(eps)
	base := []tlswarden.Probe{tlsProbe()}
	checks := []tlswarden.Probe{tlsProbe(), vuln.Probe(vuln.Config{Timeout: cliTimeout})}
	// One untimed scan first, with the checks: the servers' first
	// connections pay for lazy set-up (see BenchmarkFleet).
	scanOnce(b, checks, ts, false)
	logLoad(b, "before the scans")
	var (
		without, with, theirs phases
		conns                 [2]int64
		failed                int
	)
	for b.Loop() {
		b.StopTimer()
		without = append(without, measure(b, func() { conns[0] += scanOnce(b, base, ts, false).Conns }))
		m := startMeter(b)
		b.StartTimer()
		run := scanOnce(b, checks, ts, false)
		b.StopTimer()
		with = append(with, m.stop(b))
		conns[1] += run.Conns
		failed += run.FailedN
		for _, f := range run.Failed {
			b.Logf("not scanned: %s", f)
		}
		var cpu time.Duration
		theirs = append(theirs, measure(b, func() { _, cpu, _ = runNmap(b, fleetAddr, eps) }))
		theirs[len(theirs)-1].cpu = cpu
		b.StartTimer()
	}
	logLoad(b, "after the scans")
	n, runs := float64(len(ts)), float64(len(with))
	perEndpoint := func(ps phases) float64 { return serverCPU(ps).Seconds() * 1000 / (n * runs) }
	b.ReportMetric(float64(conns[0])/(n*runs), "base-conns/endpoint")
	b.ReportMetric(float64(conns[1])/(n*runs), "conns/endpoint")
	b.ReportMetric(float64(conns[1]-conns[0])/(n*runs), "checks-conns/endpoint")
	b.ReportMetric(perEndpoint(without), "base-servers-cpu-ms/endpoint")
	b.ReportMetric(perEndpoint(with), "servers-cpu-ms/endpoint")
	b.ReportMetric(perEndpoint(with)-perEndpoint(without), "checks-servers-cpu-ms/endpoint")
	b.ReportMetric(without.medianWall().Seconds(), "base-s")
	b.ReportMetric(with.medianWall().Seconds(), "s")
	b.ReportMetric(theirs.medianWall().Seconds(), "nmap-s")
	b.ReportMetric(ratio(theirs, with), "nmap/tlswarden")
	b.ReportMetric(float64(failed)/runs, "failed-endpoints")
	with.report(b, "", len(ts))
	theirs.report(b, "nmap-", len(eps))
	b.Logf("TLS probe alone: %s; with the weakness checks: %s; nmap ssl-enum-ciphers: %s", without, with, theirs)
}

// serverCPU is the servers' CPU time over every run of ps.
func serverCPU(ps phases) time.Duration {
	var d time.Duration
	for _, p := range ps {
		d += p.servers.serverCPU
	}
	return d
}
