package fleetbench

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes"
)

// BenchmarkLatencySlowest scans the fleet's two slowest endpoints at 50 ms
// (or TLSWARDEN_BENCH_RTT's first round trip), each alone, through the
// latency proxy, as the fleet benchmark scans them (versions and suites,
// the scanner at the command's defaults): gnutls-serv
// "NORMAL:%SERVER_PRECEDENCE", which serves one connection at a time, and
// nginx "ALL:@SECLEVEL=0" at TLS 1.0 to 1.2. It reports each one's wall
// time (median, fastest, slowest), its connections and its critical path
// in round trips (wall time over the round trip), whether the report says
// the endpoint took one connection at a time, and how many runs found
// other suites than a scan on loopback.
func BenchmarkLatencySlowest(b *testing.B) {
	rtt := 50 * time.Millisecond
	if os.Getenv("TLSWARDEN_BENCH_RTT") != "" {
		rtt = benchRTTs(b)[0]
	}
	if !privateNetns() {
		b.Skip("gnutls-serv needs a private network namespace")
	}
	dir := b.TempDir()
	pki := writePKI(b, dir)
	gnutls := slices.IndexFunc(gnutlsServers, func(s gnutlsServer) bool { return s.Name == "server-order" })
	nginx := slices.IndexFunc(nginxServers, func(s nginxServer) bool { return s.Name == "openssl-all" })
	eps := startGnuTLS(b, dir, pki, fleetAddr, gnutlsServers[gnutls:gnutls+1])
	site := nginxSite{nginxServer: nginxServers[nginx]}
	site.Listen = []netip.AddrPort{netip.AddrPortFrom(fleetAddr, freePorts(b, fleetAddr, 1)[0])}
	startNginx(b, dir, pki, runtime.NumCPU(), []nginxSite{site})
	eps = append(eps, endpoint{Addr: site.Listen[0], Server: "nginx", Config: site.Name})
	probe := probes.TLS(probes.TLSConfig{Timeout: cliTimeout, NoGroups: true})
	base := scanOnce(b, []tlswarden.Probe{probe}, targets(eps), true) // on loopback: the facts to find, and the servers' lazy set-up
	front := startLatencyProxy(b, b.TempDir(), rtt, 0, eps)
	for i, ep := range front {
		b.Run(fmt.Sprintf("%s-%s", ep.Server, ep.Config), func(b *testing.B) {
			var (
				walls  []time.Duration
				conns  []int
				serial int
				differ int
			)
			want := base.Results[eps[i].Addr]
			for b.Loop() {
				start := time.Now()
				run := scanOnce(b, []tlswarden.Probe{probe}, targets(front[i:i+1]), true)
				walls = append(walls, time.Since(start))
				r := run.Results[ep.Addr]
				if r == nil || r.Status != tlswarden.StatusOK {
					b.Fatalf("%s: %+v %v", ep, r, run.Failed)
				}
				conns = append(conns, r.Conns)
				if r.Serial {
					serial++
				}
				if want == nil || !equalSuites(want.Suites, r.Suites) {
					differ++
				}
			}
			slices.Sort(walls)
			b.ReportMetric(walls[len(walls)/2].Seconds(), "median-s")
			b.ReportMetric(walls[0].Seconds(), "min-s")
			b.ReportMetric(walls[len(walls)-1].Seconds(), "max-s")
			b.ReportMetric(walls[len(walls)/2].Seconds()/rtt.Seconds(), "rtts/op")
			b.ReportMetric(median(conns), "conns/op")
			b.ReportMetric(float64(serial)/float64(len(walls)), "one-at-a-time")
			b.ReportMetric(float64(differ), "runs-differing-from-loopback")
		})
	}
}

// BenchmarkLatencyFleetOnly scans the fleet's versions and suites through
// the latency proxy at 50 ms (or TLSWARDEN_BENCH_RTT's first round trip)
// as BenchmarkLatency does, without the peers, for pairs of tlswarden
// alone: each run's wall time (median, fastest, slowest) and, logged, the
// slowest endpoints of the last.
func BenchmarkLatencyFleetOnly(b *testing.B) {
	rtt := 50 * time.Millisecond
	if os.Getenv("TLSWARDEN_BENCH_RTT") != "" {
		rtt = benchRTTs(b)[0]
	}
	eps := startFleet(b)
	scanOnce(b, []tlswarden.Probe{tlsProbe()}, targets(eps), false) // the servers' lazy set-up, untimed
	front := startLatencyProxy(b, b.TempDir(), rtt, 0, eps)
	probe := probes.TLS(probes.TLSConfig{Timeout: cliTimeout, NoGroups: true})
	logLoad(b, "before the scans")
	var (
		walls []time.Duration
		run   *scanRun
	)
	for b.Loop() {
		start := time.Now()
		run = scanOnce(b, []tlswarden.Probe{probe}, targets(front), true)
		walls = append(walls, time.Since(start))
	}
	logLoad(b, "after the scans")
	slices.Sort(walls)
	b.ReportMetric(walls[len(walls)/2].Seconds(), "median-s")
	b.ReportMetric(walls[0].Seconds(), "min-s")
	b.ReportMetric(walls[len(walls)-1].Seconds(), "max-s")
	b.ReportMetric(float64(run.FailedN), "failed-endpoints")
	b.Logf("walls %v", walls)
	logSlowest(b, front, run, 3)
}
