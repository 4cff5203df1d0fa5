package fleetbench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// endpoint is one server of a fleet and how it is configured.
type endpoint struct {
	Addr   netip.AddrPort
	Server string // "nginx", "gnutls-serv" or "go"
	Config string // the configuration's name in nginxServers, gnutlsServers or goServers
}

func (e endpoint) String() string { return fmt.Sprintf("%s (%s %s)", e.Addr, e.Server, e.Config) }

// fleetAddr is where the fleet listens: one address, so that one nmap
// command covers it, as the comparison has it.
var fleetAddr = netip.MustParseAddr("127.0.0.1")

// How many endpoints each configuration gets: 15 nginx configurations × 8
// + 16 gnutls-serv + 8 Go configurations × 8 = 200.
const (
	nginxPerConfig = 8
	goPerConfig    = 8
)

// startFleet starts the fleet on fleetAddr and returns its endpoints in a
// fixed shuffled order, so that the scanner's concurrent targets mix
// servers as a real estate would.
func startFleet(tb testing.TB) []endpoint {
	tb.Helper()
	dir := tb.TempDir()
	pki := writePKI(tb, dir)
	ports := freePorts(tb, fleetAddr, len(nginxServers)*nginxPerConfig)
	var (
		eps   []endpoint
		sites []nginxSite
	)
	for i, s := range nginxServers {
		site := nginxSite{nginxServer: s}
		for _, port := range ports[i*nginxPerConfig : (i+1)*nginxPerConfig] {
			a := netip.AddrPortFrom(fleetAddr, port)
			site.Listen = append(site.Listen, a)
			eps = append(eps, endpoint{Addr: a, Server: "nginx", Config: s.Name})
		}
		sites = append(sites, site)
	}
	startNginx(tb, dir, pki, runtime.NumCPU(), sites)
	if privateNetns() {
		eps = append(eps, startGnuTLS(tb, dir, pki, fleetAddr, gnutlsServers)...)
	} else {
		tb.Logf("gnutls-serv endpoints left out: it listens on the wildcard address, which only a private network namespace confines to loopback")
	}
	var listen []goListen
	for _, s := range goServers {
		for range goPerConfig {
			listen = append(listen, goListen{Config: s.Name, Addr: netip.AddrPortFrom(fleetAddr, 0).String()})
		}
	}
	eps = append(eps, startGoServers(tb, dir, pki, listen)...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
	return eps
}

// targets turns endpoints into scan targets, IP literals as the CLI takes
// them.
func targets(eps []endpoint) []tlswarden.Target {
	ts := make([]tlswarden.Target, len(eps))
	for i, e := range eps {
		ts[i] = tlswarden.Target{Host: e.Addr.Addr().String(), Port: int(e.Addr.Port()), Kind: tlswarden.KindHTTPS}
	}
	return ts
}
