package fleetbench

import (
	"crypto/tls"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// These tests check the harness's pure parts without starting anything;
// the benchmarks are where servers and peers run.

var equateAddrPort = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

const nmapFixture = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -T4 -Pn -n -p 4433,4434 --script ssl-enum-ciphers 127.0.0.1">
<host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
<ports>
<port protocol="tcp" portid="4433"><state state="open"/><service name="unknown"/>
<script id="ssl-enum-ciphers" output="...">
<table key="TLSv1.2">
<table key="ciphers">
<table><elem key="name">TLS_RSA_WITH_AES_128_CBC_SHA</elem><elem key="kex_info">rsa 2048</elem><elem key="strength">A</elem></table>
<table><elem key="name">TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</elem><elem key="kex_info">secp256r1</elem><elem key="strength">A</elem></table>
</table>
<table key="compressors"><elem>NULL</elem></table>
<elem key="cipher preference">server</elem>
</table>
<table key="TLSv1.3">
<table key="ciphers">
<table><elem key="name">TLS_AKE_WITH_AES_256_GCM_SHA384</elem><elem key="kex_info">ecdh_x25519</elem></table>
<table><elem key="name">TLS_NOT_A_SUITE</elem></table>
</table>
<elem key="cipher preference">client</elem>
</table>
<elem key="least strength">A</elem>
</script></port>
<port protocol="tcp" portid="4434"><state state="open"/></port>
</ports></host></nmaprun>
`

func TestParseNmapXML(t *testing.T) {
	run, err := parseNmapXML([]byte(nmapFixture))
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.AddrPort]suiteSets{
		netip.MustParseAddrPort("127.0.0.1:4433"): {
			tlswarden.TLS12: {0x002F, 0xC02F},
			tlswarden.TLS13: {0x1302},
		},
	}
	if diff := cmp.Diff(want, run.Found, equateAddrPort); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"TLS_NOT_A_SUITE"}, run.Unknown); diff != "" {
		t.Errorf("unknown names (-want +got):\n%s", diff)
	}
}

const sslscanFixture = `<?xml version="1.0" encoding="UTF-8"?>
<document title="SSLScan Results" version="2.0.7" web="http://github.com/rbsec/sslscan">
 <ssltest host="127.0.0.1" sniname="127.0.0.1" port="4433">
  <protocol type="ssl" version="3" enabled="0" />
  <protocol type="tls" version="1.0" enabled="1" />
  <protocol type="tls" version="1.2" enabled="1" />
  <protocol type="tls" version="1.3" enabled="1" />
  <cipher status="preferred" sslversion="TLSv1.3" bits="128" cipher="TLS_AES_128_GCM_SHA256" id="0x1301" strength="acceptable" curve="25519" ecdhebits="253" />
  <cipher status="preferred" sslversion="TLSv1.2" bits="256" cipher="ECDHE-RSA-AES256-GCM-SHA384" id="0xC030" strength="strong" curve="25519" ecdhebits="253" />
  <cipher status="accepted" sslversion="TLSv1.2" bits="256" cipher="DHE-RSA-AES256-GCM-SHA384" id="0x009F" strength="strong" dhebits="2048" />
  <group sslversion="TLSv1.3" bits="128" name="x25519" id="0x001d" />
 </ssltest>
</document>
`

func TestParseSSLScanXML(t *testing.T) {
	got, err := parseSSLScanXML([]byte(sslscanFixture))
	if err != nil {
		t.Fatal(err)
	}
	want := suiteSets{tlswarden.TLS10: {}, tlswarden.TLS12: {0x009F, 0xC030}, tlswarden.TLS13: {0x1301}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
}

func TestCompareSuites(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1")
	b := netip.MustParseAddrPort("127.0.0.1:2")
	eps := []endpoint{{Addr: a, Server: "nginx", Config: "x"}, {Addr: b, Server: "go", Config: "y"}}
	ours := map[netip.AddrPort]*endpointResult{
		a: {Suites: suiteSets{tlswarden.TLS12: {1, 2, 3}, tlswarden.TLS13: {0x1301}},
			VersionErrors: map[tlswarden.Version]string{tlswarden.TLS11: "timeout"}},
	}
	peer := &peerRun{Found: map[netip.AddrPort]suiteSets{
		a: {tlswarden.TLS11: {4}, tlswarden.TLS12: {2, 3, 5}, tlswarden.TLS13: {0x1301}},
	}}
	diffs, peerOnly, oursOnly := compareSuites(eps, ours, peer)
	want := []suiteDiff{
		{Endpoint: eps[0], Version: tlswarden.TLS11, PeerOnly: []uint16{4}, Note: "supported per the peer only; tlswarden error: timeout"},
		{Endpoint: eps[0], Version: tlswarden.TLS12, PeerOnly: []uint16{5}, OursOnly: []uint16{1}},
		{Endpoint: eps[1], Note: "the peer reported nothing"},
	}
	if diff := cmp.Diff(want, diffs, equateAddrPort); diff != "" {
		t.Errorf("diffs (-want +got):\n%s", diff)
	}
	if peerOnly != 2 || oursOnly != 1 {
		t.Errorf("peer only %d, ours only %d; want 2, 1", peerOnly, oursOnly)
	}
	wantText := "127.0.0.1:1 (nginx x) TLSv1.2: peer only: " + iana.SuiteName(5) + " (0x0005); tlswarden only: " + iana.SuiteName(1) + " (0x0001)"
	if got := diffs[1].String(); got != wantText {
		t.Errorf("String() = %q, want %q", got, wantText)
	}
}

func TestVMHWM(t *testing.T) {
	got, err := vmHWM([]byte("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n"))
	if err != nil || got != 1234<<10 {
		t.Errorf("vmHWM = %d, %v; want %d", got, err, 1234<<10)
	}
	if _, err := vmHWM([]byte("VmRSS:\t 1000 kB\n")); err == nil {
		t.Error("vmHWM without the line: no error")
	}
}

func TestDHParams(t *testing.T) {
	for name, bits := range map[string]int{"ffdhe2048": 2048, "dh1024": 1024} {
		block, _ := pem.Decode([]byte(dhParams[name]))
		if block == nil || block.Type != "DH PARAMETERS" {
			t.Fatalf("%s: no DH PARAMETERS block", name)
		}
		var p struct{ P, G *big.Int }
		if _, err := asn1.Unmarshal(block.Bytes, &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.P.BitLen() != bits || p.G.Int64() != 2 || !p.P.ProbablyPrime(20) {
			t.Errorf("%s: %d-bit prime (prime: %v), g = %v; want %d bits, g = 2", name, p.P.BitLen(), p.P.ProbablyPrime(20), p.G, bits)
		}
	}
}

func TestNginxConf(t *testing.T) {
	pki := &pkiFiles{rsa: pemPair{"/d/rsa.crt", "/d/rsa.key"}, ecdsa: pemPair{"/d/ec.crt", "/d/ec.key"}, dh: map[string]string{"ffdhe2048": "/d/ff.pem"}}
	site := nginxSite{
		nginxServer: nginxServer{Name: "n", Protocols: "TLSv1.2 TLSv1.3", Ciphers: "A:B", TLS13: "T", Cert: certBoth, DH: "ffdhe2048", ClientOrder: true},
		Listen:      []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.1.2:3")},
	}
	conf := nginxConf("/d", pki, 2, []string{"proxy_temp_path"}, []nginxSite{site})
	for _, want := range []string{
		"worker_processes 2;", "worker_connections 1026;", "proxy_temp_path /d/proxy_temp_path;",
		"listen 127.0.0.1:1 ssl;", "listen 127.0.1.2:3 ssl;",
		"ssl_certificate /d/rsa.crt;", "ssl_certificate_key /d/ec.key;",
		"ssl_protocols TLSv1.2 TLSv1.3;", "ssl_ciphers 'A:B';", "ssl_prefer_server_ciphers off;",
		"ssl_dhparam /d/ff.pem;", "ssl_conf_command Ciphersuites T;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Count(conf, "{") != strings.Count(conf, "}") {
		t.Errorf("unbalanced braces:\n%s", conf)
	}
}

// TestFleet checks the fleet's make-up: 200 endpoints, distinct names, and
// configurations that Go accepts.
func TestFleet(t *testing.T) {
	n := len(nginxServers)*nginxPerConfig + len(gnutlsServers) + len(goServers)*goPerConfig
	if n != 200 {
		t.Errorf("fleet of %d endpoints, want 200", n)
	}
	var names []string
	for _, s := range nginxServers {
		names = append(names, "nginx "+s.Name)
	}
	for _, s := range gnutlsServers {
		names = append(names, "gnutls "+s.Name)
	}
	for _, s := range goServers {
		names = append(names, "go "+s.Name)
		if cfg := s.Config(tls.Certificate{}, tls.Certificate{}); cfg == nil {
			t.Errorf("%s: nil config", s.Name)
		}
	}
	slices.Sort(names)
	if c := slices.Compact(slices.Clone(names)); len(c) != len(names) {
		t.Errorf("configuration names repeat: %v", names)
	}
	for _, name := range append(slices.Clone(tenKServers), oneEndpointServers...) {
		if !slices.ContainsFunc(nginxServers, func(s nginxServer) bool { return s.Name == name }) {
			t.Errorf("no nginx configuration %q", name)
		}
	}
}

func TestNetCounter(t *testing.T) {
	snmp := []byte("Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm ActiveOpens PassiveOpens\nTcp: 1 30 42\nUdp: InDatagrams\nUdp: 5\n")
	if got, err := netCounter(snmp, "Tcp", "PassiveOpens"); err != nil || got != 42 {
		t.Errorf("PassiveOpens = %d, %v; want 42", got, err)
	}
	if _, err := netCounter(snmp, "TcpExt", "ListenDrops"); err == nil {
		t.Error("missing counter: no error")
	}
}

func TestProcStat(t *testing.T) {
	line := []byte("1234 (nginx: worker (x)) S 1200 1200 1200 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 5 0 0\n")
	pgrp, ticks, ok := procStat(line)
	if !ok || pgrp != 1200 || ticks != 325 {
		t.Errorf("procStat = %d, %d, %v; want 1200, 325, true", pgrp, ticks, ok)
	}
}

func TestLostSYN(t *testing.T) {
	for _, share := range []float64{0.1, 0.25, 1} {
		lost := 0
		for n := uint64(1); n <= 100; n++ {
			if lostSYN(n, share) {
				lost++
			}
		}
		if want := int(share * 100); lost != want {
			t.Errorf("share %v: %d of 100 connections lost their SYN, want %d", share, lost, want)
		}
	}
}

// TestLatencyProxy sends two messages through the proxy to an echo server:
// the first answer takes at least two round trips (connect and request),
// plus the retransmit timeout when the SYN is lost, and the server accepts
// the connection only when the request reaches it (1.5 round trips); the
// second answer takes one round trip, however the connection began. Only lower bounds are tight; the
// upper one only says that the connect's delay is not paid twice.
func TestLatencyProxy(t *testing.T) {
	const rtt = 100 * time.Millisecond
	echo, accepted := startEcho(t)
	for _, loss := range []float64{0, 1} {
		px := startTestProxy(t, rtt, loss)
		front, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.1:0"), to(echo))
		if err != nil {
			t.Fatal(err)
		}
		px.start()
		start := time.Now()
		c, err := net.Dial("tcp", front.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first := exchange(t, c)
		want := 2 * rtt
		if loss == 1 {
			want += synRetransmit
		}
		if got := first.Sub(start); got < want {
			t.Errorf("SYN loss %v: first answer after %v, want at least %v", loss, got, want)
		}
		if got := (<-accepted).Sub(start); got < want-rtt/2 {
			t.Errorf("SYN loss %v: the server accepted after %v, want at least %v", loss, got, want-rtt/2)
		}
		second := exchange(t, c)
		if got := second.Sub(first); got < rtt || got >= synRetransmit {
			t.Errorf("SYN loss %v: second answer after %v, want at least %v and less than %v", loss, got, rtt, synRetransmit)
		}
	}
}

// startTestProxy makes a proxy that stops when t ends; the test listens
// on it and starts it.
func startTestProxy(t *testing.T, rtt time.Duration, synLoss float64) *latencyProxy {
	t.Helper()
	px, err := newLatencyProxy(rtt, synLoss)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.stop)
	return px
}

// exchange writes a line and reads it back, returning when it came.
func exchange(t *testing.T, c net.Conn) time.Time {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
	return time.Now()
}

// startEcho starts a TCP echo server on loopback, and sends the time of
// each accept on the channel.
func startEcho(t *testing.T) (netip.AddrPort, <-chan time.Time) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan time.Time, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- time.Now()
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort(), accepted
}

func TestParseInitTrace(t *testing.T) {
	out := []byte("tlswarden dev\ninit internal/bytealg @0.004 ms, 0 ms clock, 0 bytes, 0 allocs\ninit github.com/x/y @1.2 ms, 0.50 ms clock, 1024 bytes, 3 allocs\n")
	got, err := parseInitTrace(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []initCost{{Pkg: "internal/bytealg"}, {Pkg: "github.com/x/y", Clock: 500 * time.Microsecond, Bytes: 1024}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseInitTrace (-want +got):\n%s", diff)
	}
	if _, err := parseInitTrace([]byte("tlswarden dev\n")); err == nil {
		t.Error("no trace lines: no error")
	}
}

func TestLatencyAddr(t *testing.T) {
	for _, c := range []struct {
		i    int
		want string
	}{
		{0, "127.1.0.1"},
		{254, "127.1.0.255"},
		{255, "127.1.1.0"},
		{65533, "127.1.255.254"},
		{65534, "127.1.255.255"},
		{65535, "127.2.0.0"},
		{99999, "127.2.134.160"},
		{maxLatencyEndpoints - 1, "127.4.255.255"},
	} {
		if got := latencyAddr(c.i).String(); got != c.want {
			t.Errorf("latencyAddr(%d) = %s, want %s", c.i, got, c.want)
		}
	}
	seen := make(map[netip.Addr]int, maxLatencyEndpoints)
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	for i := range maxLatencyEndpoints {
		a := latencyAddr(i)
		if j, ok := seen[a]; ok {
			t.Fatalf("latencyAddr(%d) = latencyAddr(%d) = %s", i, j, a)
		}
		if !loopback.Contains(a) || a == netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("latencyAddr(%d) = %s: outside 127.0.0.0/8 or the servers' own address", i, a)
		}
		seen[a] = i
	}
}

func TestSockstatTCP(t *testing.T) {
	raw := []byte("sockets: used 1200\nTCP: inuse 812 orphan 3 tw 40123 alloc 900 mem 577\nUDP: inuse 2 mem 1\n")
	inuse, tw, mem := sockstatTCP(raw)
	if inuse != 812 || tw != 40123 || mem != 577 {
		t.Errorf("sockstatTCP = %d, %d, %d; want 812, 40123, 577", inuse, tw, mem)
	}
}

func TestStatusKB(t *testing.T) {
	st := []byte("Name:\ttlswarden\nVmHWM:\t  319320 kB\nVmRSS:\t  118532 kB\n")
	if got, err := statusKB(st, "VmRSS:"); err != nil || got != 118532 {
		t.Errorf("statusKB(VmRSS) = %d, %v; want 118532", got, err)
	}
	if _, err := statusKB(st, "VmSwap:"); err == nil {
		t.Error("statusKB(VmSwap) found a field the status does not have")
	}
}

// TestProxyRoutesByLocalAddress: the proxy's one listener for many
// endpoints relays a connection to the backend of the address it was made
// to, and resets one made to an address it does not front.
func TestProxyRoutesByLocalAddress(t *testing.T) {
	echo, _ := startEcho(t)
	px := startTestProxy(t, 10*time.Millisecond, 0)
	table := map[netip.AddrPort]netip.AddrPort{}
	ln, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.1:0"), byLocalAddr(table))
	if err != nil {
		t.Fatal(err)
	}
	other, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.2:0"), byLocalAddr(table))
	if err != nil {
		t.Fatal(err)
	}
	routes := []proxyRoute{{Listen: ln, Backend: echo}}
	shared, _, ok := sharedPort(routes)
	if !ok {
		t.Fatal("one route: no shared port")
	}
	maps.Copy(table, shared)
	px.start()

	c, err := net.Dial("tcp", ln.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange(t, c) // fails the test unless the echo answers

	// The reset may come before the dialler has seen its connect succeed.
	u, err := net.Dial("tcp", other.String())
	if errors.Is(err, syscall.ECONNRESET) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = u.Write([]byte("ping\n"))
	var timeout net.Error
	if _, err := u.Read(make([]byte, 1)); err == nil || errors.As(err, &timeout) && timeout.Timeout() {
		t.Errorf("a connection to an address the proxy does not front: read %v; want it closed", err)
	}
}

func TestSharedPort(t *testing.T) {
	a := netip.MustParseAddrPort("127.1.0.1:4433")
	b := netip.MustParseAddrPort("127.2.0.0:4433")
	be := netip.MustParseAddrPort("127.0.0.1:9000")
	if table, port, ok := sharedPort([]proxyRoute{{a, be}, {b, be}}); !ok || port != 4433 || len(table) != 2 || table[b] != be {
		t.Errorf("sharedPort(one port) = %v, %d, %v", table, port, ok)
	}
	if _, _, ok := sharedPort([]proxyRoute{{a, be}, {netip.MustParseAddrPort("127.1.0.2:4434"), be}}); ok {
		t.Error("sharedPort(two ports) says they share one")
	}
}
