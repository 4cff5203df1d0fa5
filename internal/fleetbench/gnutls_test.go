package fleetbench

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// gnutlsServer is one gnutls-serv process: single-threaded, with a short
// listen queue, the kind of server the scanner's per-address cap is for.
type gnutlsServer struct {
	Name     string
	Priority string
	Cert     certKind
}

// gnutlsServers is the GnuTLS part of the fleet, with what OpenSSL no
// longer offers by default: Camellia-GCM, CCM-8, RC4, anonymous DH.
var gnutlsServers = []gnutlsServer{
	{"normal", "NORMAL", certRSA},
	{"normal-ecdsa", "NORMAL", certECDSA},
	{"camellia", "NORMAL:+CAMELLIA-128-CBC:+CAMELLIA-256-CBC:+CAMELLIA-128-GCM:+CAMELLIA-256-GCM", certRSA},
	{"camellia-ecdsa", "NORMAL:+CAMELLIA-128-GCM:+CAMELLIA-256-GCM:+CAMELLIA-128-CBC:+CAMELLIA-256-CBC", certECDSA},
	{"legacy", "NORMAL:+VERS-TLS1.1:+VERS-TLS1.0:+3DES-CBC:+ARCFOUR-128:+SHA1:+RSA", certRSA},
	{"tls12-only", "NORMAL:-VERS-ALL:+VERS-TLS1.2", certRSA},
	{"tls13-only", "NORMAL:-VERS-ALL:+VERS-TLS1.3", certECDSA},
	{"secure256", "SECURE256", certRSA},
	{"ccm-chacha", "NORMAL:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-128-CCM:+AES-256-CCM:+AES-128-CCM-8:+AES-256-CCM-8", certRSA},
	{"dhe-only", "NORMAL:-KX-ALL:+DHE-RSA", certRSA},
	{"anon", "NORMAL:+ANON-ECDH:+ANON-DH", certRSA},
	{"performance", "PERFORMANCE", certRSA},
	{"server-order", "NORMAL:%SERVER_PRECEDENCE", certRSA},
	{"tls10-tls11", "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0:+SHA1", certRSA},
	{"rsa-kx-only", "NORMAL:-KX-ALL:+RSA", certRSA},
	{"camellia-legacy", "NORMAL:+VERS-TLS1.1:+VERS-TLS1.0:-KX-ALL:+RSA:+DHE-RSA:+CAMELLIA-128-CBC:+CAMELLIA-256-CBC:+SHA1", certRSA},
}

// startGnuTLS starts one gnutls-serv per server, each on its own port of
// addr, and waits until all listen. gnutls-serv cannot be told an address:
// it listens on the wildcard one, which is why only a private network
// namespace runs it.
func startGnuTLS(tb testing.TB, dir string, pki *pkiFiles, addr netip.Addr, servers []gnutlsServer) []endpoint {
	tb.Helper()
	bin := lookPath(tb, "gnutls-serv")
	ports := freePorts(tb, addr, len(servers))
	eps := make([]endpoint, len(servers))
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(servers))
	)
	for i, s := range servers {
		eps[i] = endpoint{Addr: netip.AddrPortFrom(addr, ports[i]), Server: "gnutls-serv", Config: s.Name}
		kp := pki.files(s.Cert)[0]
		cmd := exec.Command(bin, "--port", strconv.Itoa(int(ports[i])), "--priority", s.Priority,
			"--x509certfile", kp.cert, "--x509keyfile", kp.key, "--dhparams", pki.dh["ffdhe2048"],
			"--disable-client-cert", "--nodb", "--noticket", "--quiet")
		p := startProcess(tb, dir, fmt.Sprintf("gnutls-serv-%02d-%s", i, s.Name), cmd)
		wg.Go(func() { errs[i] = awaitListening(p, []netip.AddrPort{eps[i].Addr}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return eps
}
