package fleetbench

import (
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// BenchmarkFleet scans the fleet (about 200 endpoints on 127.0.0.1) once
// per iteration, then times nmap's ssl-enum-ciphers on the same ports and
// compares the suites it found with ours.
func BenchmarkFleet(b *testing.B) {
	eps := startFleet(b)
	ts := targets(eps)
	logLoad(b, "before the scan")
	var run *scanRun
	mem := watchMemory(b)
	for b.Loop() {
		run = scanOnce(b, []tlswarden.Probe{tlsProbe()}, ts, true)
	}
	heap, rss, cpu := mem.done(b)
	perScan := b.Elapsed() / time.Duration(b.N)
	run.report(b, perScan, cpu/time.Duration(b.N), heap, rss)
	logConnections(b, eps, run)

	logLoad(b, "before nmap")
	nmap := runNmap(b, fleetAddr, eps)
	logLoad(b, "after nmap")
	b.ReportMetric(nmap.Wall.Seconds(), "nmap-s")
	b.ReportMetric(nmap.Wall.Seconds()/perScan.Seconds(), "nmap/tlswarden")
	reportDiffs(b, "nmap", eps, run, nmap)
}

// BenchmarkOneEndpoint scans one nginx endpoint per iteration (versions,
// suites, groups and the certificate: what sslscan shows by default), then
// times sslscan on it, for a few of the fleet's configurations.
func BenchmarkOneEndpoint(b *testing.B) {
	for _, name := range oneEndpointServers {
		b.Run(name, func(b *testing.B) {
			i := slices.IndexFunc(nginxServers, func(s nginxServer) bool { return s.Name == name })
			dir := b.TempDir()
			ep := endpoint{Addr: netip.AddrPortFrom(fleetAddr, freePorts(b, fleetAddr, 1)[0]), Server: "nginx", Config: name}
			startNginx(b, dir, writePKI(b, dir), runtime.NumCPU(), []nginxSite{{nginxServer: nginxServers[i], Listen: []netip.AddrPort{ep.Addr}}})
			ts := targets([]endpoint{ep})
			ps := []tlswarden.Probe{tlsProbe(), certProbe()}
			var run *scanRun
			for b.Loop() {
				run = scanOnce(b, ps, ts, true)
			}
			perScan := b.Elapsed() / time.Duration(b.N)
			r := run.Results[ep.Addr]
			if r == nil || r.Cert == nil {
				b.Fatalf("%s: no certificate in the report", ep)
			}
			for _, p := range r.Probes {
				b.Logf("probe %s: %s in %d ms", p.Name, p.Status, p.DurationMS)
			}
			b.ReportMetric(float64(run.Conns), "conns")
			b.ReportMetric(float64(run.FailedN), "failed-endpoints")
			for _, f := range run.Failed {
				b.Logf("not scanned: %s", f)
			}
			ss := medianRun(b, 3, func() *peerRun { return runSSLScan(b, ep.Addr) })
			b.ReportMetric(ss.Wall.Seconds(), "sslscan-s")
			b.ReportMetric(ss.Wall.Seconds()/perScan.Seconds(), "sslscan/tlswarden")
			reportDiffs(b, "sslscan", []endpoint{ep}, run, ss)
		})
	}
}

// oneEndpointServers are the nginx configurations BenchmarkOneEndpoint
// scans: the common one, the widest common one, and everything OpenSSL has.
var oneEndpointServers = []string{"mozilla-intermediate", "mozilla-old", "openssl-all"}

// BenchmarkTenThousand scans 10,000 nginx endpoints (100 loopback
// addresses × 100 ports, four nginx processes) for the scanner's peak
// memory; the target is under 300 MB of RSS.
func BenchmarkTenThousand(b *testing.B) {
	if os.Getenv("TLSWARDEN_BENCH_10K") != "1" {
		b.Skip("set TLSWARDEN_BENCH_10K=1 to scan 10,000 endpoints (minutes)")
	}
	if !privateNetns() {
		b.Skip("needs the private network namespace (root): it takes 100 loopback addresses × 100 ports")
	}
	raiseOpenFiles(b)
	eps := startTenThousand(b)
	ts := targets(eps)
	logLoad(b, "before the scan")
	var run *scanRun
	mem := watchMemory(b)
	for b.Loop() {
		run = scanOnce(b, []tlswarden.Probe{tlsProbe()}, ts, false)
	}
	heap, rss, cpu := mem.done(b)
	run.report(b, b.Elapsed()/time.Duration(b.N), cpu/time.Duration(b.N), heap, rss)
	logLoad(b, "after the scan")
	if mb(rss) >= 300 {
		b.Logf("peak RSS %.0f MB misses the 300 MB target", mb(rss))
	}
}

// tenKServers are the configurations of the 10,000: an estate's mix.
var tenKServers = []string{"mozilla-intermediate", "mozilla-old", "tls13-only", "dual-cert", "tls12-rsa-kx", "nginx-default"}

// startTenThousand lays 10,000 endpoints out on 127.0.1.1-100, ports
// 10000-10099, over four nginx processes; endpoint k is on address k%100,
// so the scanner's concurrent targets are on different addresses.
func startTenThousand(b *testing.B) []endpoint {
	const addrs, ports, procs = 100, 100, 4
	dir := b.TempDir()
	pki := writePKI(b, dir)
	sites := make([]map[string]*nginxSite, procs)
	for i := range sites {
		sites[i] = map[string]*nginxSite{}
	}
	eps := make([]endpoint, 0, addrs*ports)
	for k := range addrs * ports {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(1 + k%addrs)}), uint16(10000+k/addrs))
		name := tenKServers[(k/procs)%len(tenKServers)]
		s := sites[k%procs][name]
		if s == nil {
			i := slices.IndexFunc(nginxServers, func(s nginxServer) bool { return s.Name == name })
			s = &nginxSite{nginxServer: nginxServers[i]}
			sites[k%procs][name] = s
		}
		s.Listen = append(s.Listen, a)
		eps = append(eps, endpoint{Addr: a, Server: "nginx", Config: name})
	}
	for _, m := range sites {
		var list []nginxSite
		for _, s := range m {
			list = append(list, *s)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		startNginx(b, b.TempDir(), pki, 1, list)
	}
	return eps
}

// raiseOpenFiles lifts the soft limit on open files to the hard one. Doing
// it through syscall.Setrlimit also passes it to the nginx processes (Go
// otherwise restores the original limit in children), whose masters hold
// 2,500 listening sockets each.
func raiseOpenFiles(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < 8192 {
		b.Skipf("open files limited to %d", lim.Cur)
	}
}

// medianRun runs a peer n times and returns the run of median wall time.
func medianRun(b *testing.B, n int, run func() *peerRun) *peerRun {
	runs := make([]*peerRun, n)
	for i := range runs {
		runs[i] = run()
	}
	slices.SortFunc(runs, func(x, y *peerRun) int { return int(x.Wall - y.Wall) })
	return runs[n/2]
}

// reportDiffs logs every difference between a peer's suites and ours and
// counts them as metrics: suites only the peer found (which tlswarden
// missed, unless the peer is wrong) and suites only tlswarden found (often
// ones the peer does not know).
func reportDiffs(b *testing.B, peer string, eps []endpoint, run *scanRun, theirs *peerRun) {
	diffs, peerOnly, oursOnly := compareSuites(eps, run.Results, theirs)
	for _, d := range diffs {
		b.Logf("%s differs: %s", peer, d)
	}
	for _, n := range theirs.Unknown {
		b.Logf("%s named a suite not in the IANA registry: %s", peer, n)
	}
	b.ReportMetric(float64(peerOnly), peer+"-only-suites")
	b.ReportMetric(float64(oursOnly), "tlswarden-only-suites")
	b.ReportMetric(float64(len(diffs)), "differing-versions")
}

// logConnections logs the mean connections per endpoint of each
// configuration, for whoever tunes the engine's connection budget.
func logConnections(b *testing.B, eps []endpoint, run *scanRun) {
	type sum struct{ n, conns int }
	by := map[string]*sum{}
	var keys []string
	for _, e := range eps {
		k := e.Server + " " + e.Config
		if by[k] == nil {
			by[k] = &sum{}
			keys = append(keys, k)
		}
		if r := run.Results[e.Addr]; r != nil {
			by[k].n++
			by[k].conns += r.Conns
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s := by[k]; s.n > 0 {
			b.Logf("connections per endpoint: %-40s %5.1f", k, float64(s.conns)/float64(s.n))
		}
	}
}
