package fleetbench

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes"
)

// BenchmarkLatency scans the fleet through the latency proxy at each round
// trip of TLSWARDEN_BENCH_RTT (milliseconds, comma-separated; default
// 0,20,50,150), each endpoint on an address of its own, and for a chosen
// share of connections (TLSWARDEN_BENCH_SYN_LOSS, 0-1; default 0) a lost
// first SYN. At each round trip it times, in pairs within one iteration
// (the peers only in the first TLSWARDEN_BENCH_PEER_RUNS iterations, when
// set: nmap over 200 addresses takes minutes):
//
//   - fleet: tlswarden's versions and suites over the 200 endpoints (the
//     scanner at the command's defaults, the TLS probe with NoGroups), then
//     nmap's ssl-enum-ciphers over the same 200 addresses;
//   - one-endpoint: one nginx endpoint (mozilla-intermediate) scanned in
//     process for versions, suites, groups and the certificate, then the
//     tlswarden command (cold, --no-http), then sslscan.
//
// Beside the medians it reports each run's wall times (logged), the
// critical path of one endpoint in round trips (the growth of its scan's
// wall time over the first round trip's, divided by the round trip), and
// every suite found differently than at the first round trip.
func BenchmarkLatency(b *testing.B) {
	rtts := benchRTTs(b)
	synLoss := benchSYNLoss(b)
	eps := startFleet(b)
	one := slices.IndexFunc(eps, func(e endpoint) bool { return e.Server == "nginx" && e.Config == "mozilla-intermediate" })
	cli, err := buildCLI(b.TempDir())
	if err != nil {
		b.Logf("the command is not timed: building it: %v", err)
	}
	scanOnce(b, []tlswarden.Probe{tlsProbe()}, targets(eps), false) // the servers' lazy set-up, untimed
	base := &latencyBase{}
	for _, rtt := range rtts {
		b.Run(fmt.Sprintf("rtt=%dms", rtt.Milliseconds()), func(b *testing.B) {
			front := startLatencyProxy(b, b.TempDir(), rtt, synLoss, eps)
			b.Run("fleet", func(b *testing.B) { benchmarkLatencyFleet(b, front, base) })
			b.Run("one-endpoint", func(b *testing.B) { benchmarkLatencyOne(b, front[one], cli, rtt, base) })
		})
	}
}

// latencyBase is what the first round trip measured, for the later ones
// to compare with.
type latencyBase struct {
	rtt    time.Duration
	oneSet bool
	one    time.Duration                      // one endpoint's median wall time in process
	suites map[netip.AddrPort]*endpointResult // the fleet's suites, by backend index's front address
}

func benchmarkLatencyFleet(b *testing.B, front []endpoint, base *latencyBase) {
	logLoad(b, "before the scans")
	probe := probes.TLS(probes.TLSConfig{Timeout: cliTimeout, NoGroups: true})
	ts := targets(front)
	var (
		run          *scanRun
		nmapXML      []byte
		ours, theirs phases
	)
	peerRuns := benchPeerRuns(b)
	for b.Loop() {
		b.StopTimer()
		m := startMeter(b)
		b.StartTimer()
		run = scanOnce(b, []tlswarden.Probe{probe}, ts, true)
		b.StopTimer()
		ours = append(ours, m.stop(b))
		if len(theirs) >= peerRuns {
			b.StartTimer()
			continue
		}
		var cpu time.Duration
		theirs = append(theirs, measure(b, func() { _, cpu, nmapXML = runNmapHosts(b, front) }))
		theirs[len(theirs)-1].cpu = cpu
		b.StartTimer()
	}
	nmap, err := parseNmapXML(nmapXML)
	if err != nil {
		b.Fatalf("nmap XML: %v", err)
	}
	logLoad(b, "after the scans")
	reportWalls(b, "", ours)
	b.ReportMetric(float64(run.Conns)/float64(run.Endpoints), "conns/endpoint")
	b.ReportMetric(float64(run.Budget.Peak), "peak-in-flight")
	b.ReportMetric(float64(run.Budget.Cuts), "budget-cuts")
	b.ReportMetric(run.Budget.Window, "budget-window")
	b.ReportMetric(float64(run.FailedN), "failed-endpoints")
	for _, f := range run.Failed {
		b.Logf("not scanned: %s", f)
	}
	ours.report(b, "", len(ts))
	reportWalls(b, "nmap-", theirs)
	theirs.report(b, "nmap-", len(front))
	b.ReportMetric(ratio(ours[:len(theirs)], theirs), "tlswarden/nmap")
	b.Logf("tlswarden: %s; nmap -T4 -Pn -n -p %d --script ssl-enum-ciphers (200 addresses): %s", ours, latencyPort, theirs)
	reportDiffs(b, "nmap", front, run, nmap)
	logSlowest(b, front, run, 5)
	base.compareSuites(b, run)
}

func benchmarkLatencyOne(b *testing.B, ep endpoint, cli string, rtt time.Duration, base *latencyBase) {
	ts := targets([]endpoint{ep})
	ps := tlsAndCertProbes()
	var (
		run                *scanRun
		ours, cmd, sslscan phases
		ss                 *peerRun
		conns              []int
	)
	for b.Loop() {
		b.StopTimer()
		m := startMeter(b)
		b.StartTimer()
		run = scanOnce(b, ps, ts, true)
		b.StopTimer()
		ours = append(ours, m.stop(b))
		if r := run.Results[ep.Addr]; r != nil {
			conns = append(conns, r.Conns)
		}
		if cli != "" {
			cmd = append(cmd, measure(b, func() { timeCLI(b, cli, ep) }))
		}
		if len(sslscan) >= benchPeerRuns(b) {
			b.StartTimer()
			continue
		}
		sslscan = append(sslscan, measure(b, func() { ss = runSSLScan(b, ep.Addr) }))
		sslscan[len(sslscan)-1].cpu = ss.CPU
		b.StartTimer()
	}
	if r := run.Results[ep.Addr]; r == nil || r.Cert == nil {
		b.Errorf("%s: no certificate in the report", ep)
	} else {
		for _, p := range r.Probes {
			b.Logf("probe %s: %s in %d ms", p.Name, p.Status, p.DurationMS)
		}
	}
	b.ReportMetric(median(conns), "conns")
	reportWalls(b, "", ours)
	ours.report(b, "", 1)
	if len(cmd) > 0 {
		reportWalls(b, "cli-", cmd)
		b.ReportMetric(ratio(cmd[:len(sslscan)], sslscan), "cli/sslscan")
	}
	reportWalls(b, "sslscan-", sslscan)
	b.Logf("tlswarden in process: %s; the command: %s; sslscan: %s", ours, cmd, sslscan)
	reportDiffs(b, "sslscan", []endpoint{ep}, run, ss)
	base.roundTrips(b, rtt, ours.medianWall())
}

// roundTrips records the first round trip's time, and reports how many
// round trips later ones added.
func (l *latencyBase) roundTrips(b *testing.B, rtt, wall time.Duration) {
	if !l.oneSet {
		l.rtt, l.one, l.oneSet = rtt, wall, true
		return
	}
	if rtt > l.rtt {
		b.ReportMetric((wall-l.one).Seconds()/(rtt-l.rtt).Seconds(), "critical-path-RTTs")
	}
}

// compareSuites keeps the first round trip's suites and reports, for the
// later ones, every endpoint whose suites differ: the delay must not
// change the facts.
func (l *latencyBase) compareSuites(b *testing.B, run *scanRun) {
	if l.suites == nil {
		l.suites = run.Results
		return
	}
	differ := 0
	for a, r := range run.Results {
		want := l.suites[a]
		if want == nil || !equalSuites(want.Suites, r.Suites) {
			differ++
			b.Logf("%s: suites differ from the first round trip's", a)
		}
	}
	b.ReportMetric(float64(differ), "endpoints-differing-from-first-rtt")
}

func equalSuites(a, b suiteSets) bool {
	if len(a) != len(b) {
		return false
	}
	for v, s := range a {
		if t, ok := b[v]; !ok || !slices.Equal(s, t) {
			return false
		}
	}
	return true
}

// reportWalls reports a phase's median wall time and its spread (the
// fastest and slowest run) as metrics.
func reportWalls(b *testing.B, prefix string, ps phases) {
	w := make([]time.Duration, len(ps))
	for i, p := range ps {
		w[i] = p.wall
	}
	slices.Sort(w)
	b.ReportMetric(w[len(w)/2].Seconds(), prefix+"median-s")
	b.ReportMetric(w[0].Seconds(), prefix+"min-s")
	b.ReportMetric(w[len(w)-1].Seconds(), prefix+"max-s")
}

func median(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return float64(s[len(s)/2])
}

// runNmapHosts times one nmap ssl-enum-ciphers run over endpoints on
// distinct addresses and one port.
func runNmapHosts(tb testing.TB, eps []endpoint) (wall, cpu time.Duration, xml []byte) {
	tb.Helper()
	bin := lookPath(tb, "nmap")
	out := filepath.Join(tb.TempDir(), "nmap.xml")
	args := []string{"-T4", "-Pn", "-n", "-p", strconv.Itoa(latencyPort), "--script", "ssl-enum-ciphers", "-oX", out}
	for _, e := range eps {
		if e.Addr.Port() != latencyPort {
			tb.Fatalf("nmap run over port %d given endpoint %s", latencyPort, e.Addr)
		}
		args = append(args, e.Addr.Addr().String())
	}
	wall, cpu, log := timeCommand(tb, bin, args...)
	raw, err := os.ReadFile(out)
	if err != nil {
		tb.Fatalf("nmap wrote no XML: %v\n%s", err, log)
	}
	return wall, cpu, raw
}

// benchRTTs reads TLSWARDEN_BENCH_RTT.
func benchRTTs(tb testing.TB) []time.Duration {
	v := os.Getenv("TLSWARDEN_BENCH_RTT")
	if v == "" {
		v = "0,20,50,150"
	}
	var rtts []time.Duration
	for _, f := range strings.Split(v, ",") {
		ms, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || ms < 0 {
			tb.Fatalf("TLSWARDEN_BENCH_RTT=%q: want milliseconds, comma-separated", v)
		}
		rtts = append(rtts, time.Duration(ms)*time.Millisecond)
	}
	return rtts
}

// benchPeerRuns reads TLSWARDEN_BENCH_PEER_RUNS: how many iterations
// also time the peers (default: all).
func benchPeerRuns(tb testing.TB) int {
	v := os.Getenv("TLSWARDEN_BENCH_PEER_RUNS")
	if v == "" {
		return math.MaxInt
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("TLSWARDEN_BENCH_PEER_RUNS=%q: want a positive number", v)
	}
	return n
}

// benchSYNLoss reads TLSWARDEN_BENCH_SYN_LOSS.
func benchSYNLoss(tb testing.TB) float64 {
	v := os.Getenv("TLSWARDEN_BENCH_SYN_LOSS")
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		tb.Fatalf("TLSWARDEN_BENCH_SYN_LOSS=%q: want a share from 0 to 1", v)
	}
	return f
}

// logSlowest logs the n endpoints whose scan took longest in the last run:
// with enough in flight, the slowest endpoint's chain of round trips is
// what bounds the fleet's time.
func logSlowest(b *testing.B, eps []endpoint, run *scanRun, n int) {
	sorted := slices.Clone(eps)
	dur := func(e endpoint) int64 {
		if r := run.Results[e.Addr]; r != nil {
			return r.DurationMS
		}
		return 0
	}
	slices.SortFunc(sorted, func(x, y endpoint) int { return int(dur(y) - dur(x)) })
	for _, e := range sorted[:min(n, len(sorted))] {
		r := run.Results[e.Addr]
		b.Logf("slowest: %s: %d ms, %d connections, done %d ms after the scan began", e, dur(e), r.Conns, r.DoneMS)
	}
	done := func(e endpoint) int64 {
		if r := run.Results[e.Addr]; r != nil {
			return r.DoneMS
		}
		return 0
	}
	slices.SortFunc(sorted, func(x, y endpoint) int { return int(done(y) - done(x)) })
	for _, e := range sorted[:min(n, len(sorted))] {
		b.Logf("last done: %s: %d ms after the scan began, after %d ms of its own", e, done(e), dur(e))
	}
}
