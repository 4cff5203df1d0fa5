package fleetbench

import (
	"testing"
	"time"
)

// BenchmarkScanCPU scans the fleet with the TLS and certificate probes at
// the command's defaults (`scan --no-http`'s work without the weakness
// checks), in process, and reports the scanner's own CPU time (user and
// system) per connection and per endpoint; the servers run in other
// processes, so their handshakes are not in it. Run it with -cpuprofile to
// see where that time goes. Each run has probes of its own; what the
// probes package caches for the process (parsed certificates, verified
// chains, zlint's findings) stays warm after the first run, as it does
// for the second and later endpoints serving a chain in one command.
func BenchmarkScanCPU(b *testing.B) {
	eps := startFleet(b)
	ts := targets(eps)
	scanOnce(b, tlsAndCertProbes(), ts, false) // the servers' lazy set-up, untimed
	logLoad(b, "before the scans")
	var (
		cpu   time.Duration
		conns int64
	)
	for b.Loop() {
		start := cpuTime(b)
		run := scanOnce(b, tlsAndCertProbes(), ts, false)
		cpu += cpuTime(b) - start
		conns += run.Conns
		if run.FailedN > 0 {
			b.Errorf("%d endpoints not scanned, the first: %v", run.FailedN, run.Failed)
		}
	}
	logLoad(b, "after the scans")
	b.ReportMetric(float64(cpu.Microseconds())/float64(conns), "cpu-µs/conn")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N*len(ts)), "cpu-ms/endpoint")
	b.ReportMetric(float64(conns)/float64(b.N*len(ts)), "conns/endpoint")
}
