//go:build linux

package tlstest

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"golang.org/x/sys/unix"
)

// NginxConfig configures an nginx server with one TLS virtual server. Its
// zero value serves nginx's defaults with a minted RSA-2048 certificate for
// localhost. As with OpenSSL 3 (nginx is linked against it), TLS 1.0 and
// 1.1 need "@SECLEVEL=0" at the end of Ciphers.
type NginxConfig struct {
	// Cert is the server's certificate; nil mints an RSA-2048 leaf for
	// localhost and 127.0.0.1. Chain follows it in the Certificate message.
	Cert  *Cert
	Chain []*Cert
	// Versions lists the protocol versions to enable (ssl_protocols, TLS 1.0
	// to 1.3). Empty keeps nginx's default.
	Versions []tlswarden.Version
	// Ciphers is the ssl_ciphers list for TLS 1.2 and below, in OpenSSL
	// syntax.
	Ciphers string
	// Ciphersuites is the TLS 1.3 suite list, set with
	// "ssl_conf_command Ciphersuites".
	Ciphersuites string
	// PreferServerCiphers sets ssl_prefer_server_ciphers on.
	PreferServerCiphers bool
	// DHBits, when set, gives DHE suites a prime of that size (ssl_dhparam
	// with the parameters of DHParams); without it nginx offers no DHE.
	DHBits int
	// ECDHCurve is the ssl_ecdh_curve list ("X25519:prime256v1").
	ECDHCurve string
	// Headers are added to responses with add_header, in order.
	Headers []Header
	// Directives are further directives for the server block, written as
	// given ("ssl_session_tickets off;"). Every request is answered
	// "200 tlswarden test" unless a directive here says otherwise.
	Directives []string
}

// Header is one add_header directive of an nginx server. Value is written
// quoted, but nginx still expands "$name" variables in it.
type Header struct {
	Name  string
	Value string
	// Always adds the header to every response, errors included
	// ("add_header ... always"); otherwise nginx adds it only to 2xx and
	// 3xx responses.
	Always bool
}

// NginxServer starts nginx in the foreground, as a single process with all
// its files (configuration, pid, logs, temporary files) in a temporary
// directory, listening on a free port of 127.0.0.1, and returns the address.
// nginx is stopped when the test ends; its error log is logged if the test
// failed.
func NginxServer(t testing.TB, cfg NginxConfig) netip.AddrPort {
	t.Helper()
	bin := RequireBinary(t, "nginx")
	dir := t.TempDir()

	addr, err := reservePort(t)
	if err != nil {
		t.Fatalf("tlstest: nginx: %v", err)
	}
	conf, err := nginxConf(t, dir, addr, cfg)
	if err != nil {
		t.Fatalf("tlstest: nginx: %v", err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatalf("tlstest: nginx: write configuration: %v", err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", "stderr")
	p, err := startProcess(t, "nginx", cmd)
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	if _, err := p.waitOutput(nginxStarted, startupTimeout); err != nil {
		t.Fatalf("tlstest: nginx -c %s: %v\nconfiguration:\n%s", confFile, err, conf)
	}
	return addr
}

// nginxStarted is what nginx logs (at notice level) once its configuration
// is loaded and its sockets are open, just before it starts serving (the
// operating system's status, which it writes once at startup).
var nginxStarted = regexp.MustCompile(`\[notice\] \d+#\d+: getrlimit\(RLIMIT_NOFILE\)`)

// reservePort binds a socket to a free port of 127.0.0.1 with SO_REUSEPORT,
// without listening on it, and keeps it bound until the test ends. nginx,
// told to listen there with "reuseport", can bind the port too and is the
// only one listening; any other process that tries to take the port in
// the meantime cannot. (nginx can also inherit a listening socket, but
// not as a single process: it crashes.)
func reservePort(t testing.TB) (netip.AddrPort, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("reserve a port: socket: %w", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return netip.AddrPort{}, fmt.Errorf("reserve a port: SO_REUSEPORT: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return netip.AddrPort{}, fmt.Errorf("reserve a port: bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("reserve a port: getsockname: %w", err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("reserve a port: bound to %T", sa)
	}
	return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)), nil
}

// nginxConf writes the configuration for one server on addr, with its
// certificate and DH parameters in dir.
func nginxConf(t testing.TB, dir string, addr netip.AddrPort, cfg NginxConfig) (string, error) {
	t.Helper()
	cert := cfg.Cert
	if cert == nil {
		cert = SelfSigned(t, CertSpec{})
	}
	certFile, keyFile := cert.WritePEM(t, dir, cfg.Chain...)
	var srv []string
	add := func(format string, args ...any) { srv = append(srv, fmt.Sprintf(format, args...)) }
	add("listen %s ssl reuseport;", addr)
	add("server_name localhost;")
	add("ssl_certificate %s;", nginxQuote(certFile))
	add("ssl_certificate_key %s;", nginxQuote(keyFile))
	if len(cfg.Versions) > 0 {
		names, err := nginxProtocols(cfg.Versions)
		if err != nil {
			return "", err
		}
		add("ssl_protocols %s;", names)
	}
	if cfg.Ciphers != "" {
		add("ssl_ciphers %s;", nginxQuote(cfg.Ciphers))
	}
	if cfg.Ciphersuites != "" {
		add("ssl_conf_command Ciphersuites %s;", nginxQuote(cfg.Ciphersuites))
	}
	if cfg.PreferServerCiphers {
		add("ssl_prefer_server_ciphers on;")
	}
	if cfg.DHBits != 0 {
		add("ssl_dhparam %s;", nginxQuote(DHParams(t, cfg.DHBits)))
	}
	if cfg.ECDHCurve != "" {
		add("ssl_ecdh_curve %s;", nginxQuote(cfg.ECDHCurve))
	}
	for _, h := range cfg.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, " \t\r\n;\"'{}") {
			return "", fmt.Errorf("header name %q cannot be written in an nginx configuration", h.Name)
		}
		always := ""
		if h.Always {
			always = " always"
		}
		add("add_header %s %s%s;", h.Name, nginxQuote(h.Value), always)
	}
	srv = append(srv, cfg.Directives...)
	add("location / { return 200 \"tlswarden test\\n\"; }")

	temp := func(name string) string { return nginxQuote(filepath.Join(dir, name)) }
	return fmt.Sprintf(`# Written by tlstest.NginxServer.
daemon off;
master_process off;
pid %s;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    server {
        %s
    }
}
`, temp("nginx.pid"), temp("body"), temp("proxy"), temp("fastcgi"), temp("uwsgi"), temp("scgi"),
		strings.Join(srv, "\n        ")), nil
}

// nginxProtocols returns the ssl_protocols names of versions.
func nginxProtocols(vs []tlswarden.Version) (string, error) {
	names := map[tlswarden.Version]string{
		tlswarden.TLS10: "TLSv1", tlswarden.TLS11: "TLSv1.1", tlswarden.TLS12: "TLSv1.2", tlswarden.TLS13: "TLSv1.3",
	}
	var out []string
	for _, v := range vs {
		n, ok := names[v]
		if !ok {
			return "", fmt.Errorf("nginx with OpenSSL 3 cannot serve %v", v)
		}
		out = append(out, n)
	}
	return strings.Join(out, " "), nil
}

// nginxQuote quotes s as one nginx configuration token.
func nginxQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
