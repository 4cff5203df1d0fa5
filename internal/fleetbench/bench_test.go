package fleetbench

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes"
)

// BenchmarkFleet scans the fleet (200 endpoints on 127.0.0.1) and then
// runs nmap's ssl-enum-ciphers on the same ports, once per iteration, so
// that each ratio compares two runs made under the same load; it reports
// the medians, and every difference between the suites nmap found and
// ours. Only the scans are timed. It does so twice: for versions and suites
// with their preference, what the target is set for (the TLS probe with
// NoGroups, as `scan --no-groups`), and with every key-exchange group
// enumerated too (the command's default).
func BenchmarkFleet(b *testing.B) {
	eps := startFleet(b)
	ts := targets(eps)
	// One untimed scan first: the servers' first connections pay for
	// lazy set-up (nginx workers' TLS contexts, DH keys), and otherwise
	// only the first timed scan, always ours, would meet them.
	scanOnce(b, []tlswarden.Probe{tlsProbe()}, ts, false)
	for _, mode := range []struct {
		name  string
		probe tlswarden.Probe
	}{
		{"versions-suites", probes.TLS(probes.TLSConfig{Timeout: cliTimeout, NoGroups: true})},
		{"with-groups", tlsProbe()},
	} {
		b.Run(mode.name, func(b *testing.B) { benchmarkFleet(b, eps, ts, mode.probe) })
	}
}

func benchmarkFleet(b *testing.B, eps []endpoint, ts []tlswarden.Target, probe tlswarden.Probe) {
	logLoad(b, "before the scans")
	var (
		run          *scanRun
		nmapXML      []byte
		ours, theirs phases
	)
	mem := watchMemory(b)
	for b.Loop() {
		b.StopTimer()
		m := startMeter(b)
		b.StartTimer()
		run = scanOnce(b, []tlswarden.Probe{probe}, ts, true)
		b.StopTimer()
		ours = append(ours, m.stop(b))
		var cpu time.Duration
		theirs = append(theirs, measure(b, func() { _, cpu, nmapXML = runNmap(b, fleetAddr, eps) }))
		theirs[len(theirs)-1].cpu = cpu
		b.StartTimer()
	}
	heap, rss := mem.done(b)
	nmap, err := parseNmapXML(nmapXML)
	if err != nil {
		b.Fatalf("nmap XML: %v", err)
	}
	logLoad(b, "after the scans")
	run.report(b, ours.medianWall(), heap, rss)
	ours.report(b, "", len(ts))
	logConnections(b, eps, run)

	theirs.report(b, "nmap-", len(eps))
	b.ReportMetric(theirs.medianWall().Seconds(), "nmap-s")
	b.ReportMetric(ratio(theirs, ours), "nmap/tlswarden")
	b.Logf("nmap -T4 -Pn -n -p PORTS --script ssl-enum-ciphers 127.0.0.1: %s; tlswarden: %s", theirs, ours)
	reportDiffs(b, "nmap", eps, run, nmap)
}

// BenchmarkOneEndpoint scans one nginx endpoint per iteration in process
// (versions, suites, groups and the certificate: what sslscan shows by
// default), times the tlswarden command on it (cold, a process per scan,
// with whatever probes the command runs), then sslscan, for a few of the
// fleet's configurations.
func BenchmarkOneEndpoint(b *testing.B) {
	cli, err := buildCLI(b.TempDir())
	if err != nil {
		b.Logf("the command is not timed: building it: %v", err)
	}
	for _, name := range oneEndpointServers {
		b.Run(name, func(b *testing.B) { benchmarkOneEndpoint(b, name, cli) })
	}
}

func benchmarkOneEndpoint(b *testing.B, name, cli string) {
	i := slices.IndexFunc(nginxServers, func(s nginxServer) bool { return s.Name == name })
	dir := b.TempDir()
	ep := endpoint{Addr: netip.AddrPortFrom(fleetAddr, freePorts(b, fleetAddr, 1)[0]), Server: "nginx", Config: name}
	startNginx(b, dir, writePKI(b, dir), runtime.NumCPU(), []nginxSite{{nginxServer: nginxServers[i], Listen: []netip.AddrPort{ep.Addr}}})
	ts := targets([]endpoint{ep})
	ps := tlsAndCertProbes()
	// A first scan outside the timing loads the system's roots for the
	// certificate probe, which a command pays once per run (see cli-s).
	scanOnce(b, ps, ts, false)
	logLoad(b, "before the scan")
	var run *scanRun
	m := startMeter(b)
	for b.Loop() {
		run = scanOnce(b, ps, ts, true)
	}
	ours := m.stop(b)
	ours.runs = b.N
	phases{ours}.report(b, "", 1)
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
	sslscan := compareSSLScan(b, ep, run, b.Elapsed()/time.Duration(b.N))
	if cli != "" {
		compareCLI(b, cli, ep, sslscan)
	}
}

// compareSSLScan runs sslscan five times on the endpoint, reports the
// median wall time and its ratio to perScan, ours, and compares the suites.
// It returns the median.
func compareSSLScan(b *testing.B, ep endpoint, run *scanRun, perScan time.Duration) time.Duration {
	var (
		ss     *peerRun
		theirs phases
	)
	for range 5 {
		theirs = append(theirs, measure(b, func() { ss = runSSLScan(b, ep.Addr) }))
		theirs[len(theirs)-1].cpu = ss.CPU
	}
	theirs.report(b, "sslscan-", 1)
	median := theirs.medianWall()
	b.ReportMetric(median.Seconds(), "sslscan-s")
	b.ReportMetric(median.Seconds()/perScan.Seconds(), "sslscan/tlswarden")
	reportDiffs(b, "sslscan", []endpoint{ep}, run, ss)
	return median
}

// compareCLI times the command five times on the endpoint and reports the
// median and sslscan's time over it.
func compareCLI(b *testing.B, cli string, ep endpoint, sslscan time.Duration) {
	walls := make([]time.Duration, 5)
	var rep *tlswarden.Report
	for i := range walls {
		walls[i], rep = timeCLI(b, cli, ep)
	}
	slices.Sort(walls)
	b.ReportMetric(walls[len(walls)/2].Seconds(), "cli-s")
	b.ReportMetric(sslscan.Seconds()/walls[len(walls)/2].Seconds(), "sslscan/cli")
	if len(rep.Endpoints) == 1 {
		var probes []string
		for _, p := range rep.Endpoints[0].Probes {
			probes = append(probes, fmt.Sprintf("%s %d ms", p.Name, p.DurationMS))
		}
		b.Logf("the command ran %s; certificate in its report: %v", strings.Join(probes, ", "), rep.Endpoints[0].Cert != nil)
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
	m := startMeter(b)
	for b.Loop() {
		run = scanOnce(b, []tlswarden.Probe{tlsProbe()}, ts, false)
	}
	ours := m.stop(b)
	ours.runs = b.N
	heap, rss := mem.done(b)
	logLoad(b, "after the scan")
	run.report(b, b.Elapsed()/time.Duration(b.N), heap, rss)
	phases{ours}.report(b, "", len(ts))
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
