package fleetbench

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
)

// goServer is one Go crypto/tls configuration. Since Go 1.22 a server
// defaults to TLS 1.2 and up without RSA key exchange, so the legacy ones
// set versions and suites explicitly.
type goServer struct {
	Name   string
	Config func(rsa, ecdsa tls.Certificate) *tls.Config
}

var goServers = []goServer{
	{"go-default-rsa", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}}
	}},
	{"go-default-ecdsa", func(_, ec tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{ec}}
	}},
	{"go-dual-cert", func(rsa, ec tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{ec, rsa}}
	}},
	{"go-tls13-only", func(_, ec tls.Certificate) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{ec}}
	}},
	{"go-legacy", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{rsa},
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
				tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
				tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_RC4_128_SHA}}
	}},
	{"go-rsa-kx-tls12", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{rsa},
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_CBC_SHA}}
	}},
	{"go-tls11-ecdsa", func(_, ec tls.Certificate) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ec},
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}
	}},
	{"go-tls10-only", func(_, ec tls.Certificate) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, Certificates: []tls.Certificate{ec},
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA}}
	}},
}

// goRequest is what the benchmark sends the Go server process on stdin.
type goRequest struct {
	RSA, ECDSA [2]string // certificate and key files
	Listen     []goListen
}

type goListen struct {
	Config string // a goServer name
	Addr   string // host:port; port 0 picks one
}

// goReply is its answer on stdout: the addresses it listens on, in the
// order asked.
type goReply struct {
	Addrs []netip.AddrPort
	Error string
}

// startGoServers serves the Go endpoints from a child process (this test
// binary in the go-servers role), so that their CPU and memory are not the
// scanner's. The child exits when its stdin closes.
func startGoServers(tb testing.TB, dir string, pki *pkiFiles, listen []goListen) []endpoint {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRole+"="+roleGo)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p := startProcess(tb, dir, "go-servers", cmd)
	tb.Cleanup(func() { stdin.Close() })
	req := goRequest{RSA: [2]string{pki.rsa.cert, pki.rsa.key}, ECDSA: [2]string{pki.ecdsa.cert, pki.ecdsa.key}, Listen: listen}
	if err := json.NewEncoder(stdin).Encode(req); err != nil {
		tb.Fatalf("go servers: %v\n%s", err, p.output())
	}
	var rep goReply
	if err := json.NewDecoder(stdout).Decode(&rep); err != nil || rep.Error != "" {
		tb.Fatalf("go servers: %v %s\n%s", err, rep.Error, p.output())
	}
	eps := make([]endpoint, len(listen))
	for i, l := range listen {
		eps[i] = endpoint{Addr: rep.Addrs[i], Server: "go", Config: l.Config}
	}
	return eps
}

// serveGo is the go-servers role: read a goRequest, listen, reply, and
// serve until stdin closes.
func serveGo(in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	addrs, err := listenGo(in)
	if err != nil {
		_ = enc.Encode(goReply{Error: err.Error()})
		return 1
	}
	if err := enc.Encode(goReply{Addrs: addrs}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, in)
	return 0
}

func listenGo(in io.Reader) ([]netip.AddrPort, error) {
	var req goRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return nil, err
	}
	rsa, err := tls.LoadX509KeyPair(req.RSA[0], req.RSA[1])
	if err != nil {
		return nil, err
	}
	ec, err := tls.LoadX509KeyPair(req.ECDSA[0], req.ECDSA[1])
	if err != nil {
		return nil, err
	}
	configs := map[string]*tls.Config{}
	for _, s := range goServers {
		configs[s.Name] = s.Config(rsa, ec)
	}
	addrs := make([]netip.AddrPort, len(req.Listen))
	for i, l := range req.Listen {
		cfg, ok := configs[l.Config]
		if !ok {
			return nil, fmt.Errorf("no Go server configuration %q", l.Config)
		}
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return nil, err
		}
		addrs[i] = ln.Addr().(*net.TCPAddr).AddrPort()
		go serveTLS(ln, cfg)
	}
	return addrs, nil
}

// serveTLS completes a handshake on each connection, answers anything,
// and closes it. Scanners mostly hang up after the ServerHello, so a failed
// handshake is the normal case.
func serveTLS(ln net.Listener, cfg *tls.Config) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			tc := tls.Server(c, cfg)
			if tc.Handshake() == nil {
				_, _ = io.WriteString(tc, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
			}
		}()
	}
}
