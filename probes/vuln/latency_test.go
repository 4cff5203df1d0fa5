package vuln

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// latencyServers are the servers of the weakness checks' latency
// benchmark: nginx with TLS 1.2 and 1.3 and an RSA certificate, as
// installed (RSA key exchange, tickets, a session cache), and the same
// nginx issuing no TLS 1.3 ticket (OpenSSL's NumTickets 0): a server that
// keeps the connection open and sends no ticket is the one the ticket
// wait costs most.
func latencyServers(tb testing.TB) []struct {
	name string
	addr netip.AddrPort
} {
	tls12and13 := []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}
	return []struct {
		name string
		addr netip.AddrPort
	}{
		{"nginx", tlstest.NginxServer(tb, tlstest.NginxConfig{Versions: tls12and13,
			Directives: []string{"ssl_session_cache shared:SSL:1m;"}})},
		{"nginx-no-tls13-ticket", tlstest.NginxServer(tb, tlstest.NginxConfig{Versions: tls12and13,
			Directives: []string{"ssl_session_cache shared:SSL:1m;", "ssl_conf_command NumTickets 0;"}})},
	}
}

// runThrough runs the weakness probe once, every check on, through d and
// returns the result and the wall time.
func runThrough(tb testing.TB, cfg Config, d *tlstest.RTTDialer, addr netip.AddrPort) (*tlswarden.VulnResult, time.Duration) {
	tb.Helper()
	start := time.Now()
	obs, err := Probe(cfg).Run(tb.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
	if err != nil {
		tb.Fatal(err)
	}
	return obs.Vuln, time.Since(start)
}

// BenchmarkVulnLatency runs the weakness probe (every check, the
// intrusive ones too) against one endpoint through a 50 ms round trip
// under a per-endpoint cap of 4 connections, the scanner's default, and
// reports the median wall time (median-s, with min-s and max-s), the
// critical path in round trips (rtts/op: median wall time over the round
// trip) and the connections. With -v it logs each check's start and
// duration in the last run.
func BenchmarkVulnLatency(b *testing.B) {
	const rtt = 50 * time.Millisecond
	for _, tt := range latencyServers(b) {
		b.Run(tt.name, func(b *testing.B) {
			var walls []time.Duration
			conns := 0
			var log strings.Builder
			for b.Loop() {
				log.Reset()
				cfg := Config{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
				d := tlstest.NewRTTDialer(tt.addr, rtt, 4)
				_, wall := runThrough(b, cfg, d, tt.addr)
				walls = append(walls, wall)
				conns = d.Count()
			}
			slices.Sort(walls)
			b.ReportMetric(float64(conns), "conns/op")
			b.ReportMetric(walls[len(walls)/2].Seconds(), "median-s")
			b.ReportMetric(walls[0].Seconds(), "min-s")
			b.ReportMetric(walls[len(walls)-1].Seconds(), "max-s")
			b.ReportMetric(walls[len(walls)/2].Seconds()/rtt.Seconds(), "rtts/op")
			b.Logf("checks of the last run:\n%s", log.String())
		})
	}
}

// BenchmarkEndpointChecksLatency runs the TLS probe (versions, suites and
// groups: the command's defaults) and the weakness probe at once against
// one nginx through a 50 ms round trip, sharing a cap of 4 connections as
// the scanner's probes of one endpoint do, and reports the medians of the
// endpoint's wall time (median-s, with min-s and max-s) and of each
// probe's (tls-s, vuln-s), and the connections.
func BenchmarkEndpointChecksLatency(b *testing.B) {
	const rtt = 50 * time.Millisecond
	addr := latencyServers(b)[0].addr
	ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
	ps := []tlswarden.Probe{probes.TLS(probes.TLSConfig{}), Probe(Config{})}
	var walls, tlsWalls, vulnWalls []time.Duration
	conns := 0
	for b.Loop() {
		d := tlstest.NewRTTDialer(addr, rtt, 4)
		start := time.Now()
		var took [2]time.Duration
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() {
				if _, err := p.Run(b.Context(), ep, d.Dial); err != nil {
					b.Errorf("%s: %v", p.Name, err)
				}
				took[i] = time.Since(start)
			})
		}
		wg.Wait()
		walls = append(walls, time.Since(start))
		tlsWalls, vulnWalls = append(tlsWalls, took[0]), append(vulnWalls, took[1])
		conns = d.Count()
	}
	median := func(ds []time.Duration) float64 { slices.Sort(ds); return ds[len(ds)/2].Seconds() }
	b.ReportMetric(float64(conns), "conns/op")
	b.ReportMetric(median(walls), "median-s")
	b.ReportMetric(walls[0].Seconds(), "min-s")
	b.ReportMetric(walls[len(walls)-1].Seconds(), "max-s")
	b.ReportMetric(median(tlsWalls), "tls-s")
	b.ReportMetric(median(vulnWalls), "vuln-s")
}
