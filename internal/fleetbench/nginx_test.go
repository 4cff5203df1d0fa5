package fleetbench

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nginxServer is one nginx TLS configuration (OpenSSL 3 underneath).
type nginxServer struct {
	Name      string
	Protocols string // ssl_protocols
	Ciphers   string // ssl_ciphers, for TLS 1.2 and older; "" keeps nginx's default
	TLS13     string // OpenSSL Ciphersuites for TLS 1.3; "" keeps OpenSSL's default
	Cert      certKind
	DH        string // "", "ffdhe2048" or "dh1024": the ssl_dhparam file, for DHE
	// ClientOrder turns ssl_prefer_server_ciphers off.
	ClientOrder bool
}

// nginxServers is the nginx part of the fleet: from TLS 1.3 only to
// everything OpenSSL 3 can still be made to speak at @SECLEVEL=0. Debian's
// OpenSSL 3 has no 3DES or RC4 in libssl any more (mozilla-old still names
// DES-CBC3-SHA, as the real configuration does); gnutls-serv and Go serve
// those.
var nginxServers = []nginxServer{
	{Name: "tls13-only", Protocols: "TLSv1.3", Cert: certECDSA},
	{Name: "mozilla-intermediate", Protocols: "TLSv1.2 TLSv1.3", Cert: certRSA, DH: "ffdhe2048", ClientOrder: true,
		Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"},
	{Name: "mozilla-old", Protocols: "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", Cert: certRSA, DH: "ffdhe2048",
		Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"},
	{Name: "openssl-all", Protocols: "TLSv1 TLSv1.1 TLSv1.2", Cert: certRSA, DH: "dh1024", Ciphers: "ALL:@SECLEVEL=0"},
	{Name: "tls10-only", Protocols: "TLSv1", Cert: certRSA, DH: "dh1024", Ciphers: "AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA:@SECLEVEL=0"},
	{Name: "tls12-rsa-kx", Protocols: "TLSv1.2", Cert: certRSA,
		Ciphers: "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA"},
	{Name: "camellia", Protocols: "TLSv1.1 TLSv1.2", Cert: certRSA, DH: "ffdhe2048", Ciphers: "CAMELLIA:@SECLEVEL=0"},
	{Name: "aria", Protocols: "TLSv1.2", Cert: certBoth, DH: "ffdhe2048", Ciphers: "ARIA"},
	{Name: "dhe1024-only", Protocols: "TLSv1.2", Cert: certRSA, DH: "dh1024",
		Ciphers: "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA:@SECLEVEL=0"},
	{Name: "ecdsa-ccm", Protocols: "TLSv1.2", Cert: certECDSA,
		Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES256-CCM8"},
	{Name: "dual-cert", Protocols: "TLSv1.2 TLSv1.3", Cert: certBoth, Ciphers: "ECDHE+AESGCM:ECDHE+CHACHA20"},
	{Name: "tls13-ccm", Protocols: "TLSv1.2 TLSv1.3", Cert: certRSA, Ciphers: "ECDHE-RSA-AES256-GCM-SHA384",
		TLS13: "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256:TLS_AES_256_GCM_SHA384"},
	{Name: "tls11-only", Protocols: "TLSv1.1", Cert: certRSA, DH: "ffdhe2048",
		Ciphers: "ECDHE-RSA-AES256-SHA:AES256-SHA:DHE-RSA-CAMELLIA256-SHA:@SECLEVEL=0"},
	{Name: "nginx-default", Protocols: "TLSv1.2 TLSv1.3", Cert: certRSA},
	{Name: "chacha-client-order", Protocols: "TLSv1.2 TLSv1.3", Cert: certBoth, ClientOrder: true,
		Ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
		TLS13:   "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"},
}

// nginxSite is one server block: a configuration and the addresses it
// listens on.
type nginxSite struct {
	nginxServer
	Listen []netip.AddrPort
}

// startNginx runs one nginx (master and workers) serving sites, and waits
// until every address listens.
func startNginx(tb testing.TB, dir string, pki *pkiFiles, workers int, sites []nginxSite) *process {
	tb.Helper()
	bin := lookPath(tb, "nginx")
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, pki, workers, nginxTempDirectives(tb, bin), sites)), 0o600); err != nil {
		tb.Fatal(err)
	}
	p := startProcess(tb, dir, "nginx", exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf))
	var addrs []netip.AddrPort
	for _, s := range sites {
		addrs = append(addrs, s.Listen...)
	}
	waitListening(tb, p, addrs)
	return p
}

// nginxConf renders nginx.conf. Every listening socket takes one of each
// worker's connection slots, so worker_connections grows with them.
func nginxConf(dir string, pki *pkiFiles, workers int, tempDirectives []string, sites []nginxSite) string {
	listens := 0
	for _, s := range sites {
		listens += len(s.Listen)
	}
	conns := listens + 1024
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nmaster_process on;\nworker_processes %d;\nworker_rlimit_nofile %d;\n", workers, conns+64)
	fmt.Fprintf(&b, "pid %s;\nerror_log %s warn;\n", filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	fmt.Fprintf(&b, "events {\n\tworker_connections %d;\n}\nhttp {\n\taccess_log off;\n", conns)
	for _, d := range tempDirectives {
		fmt.Fprintf(&b, "\t%s %s;\n", d, filepath.Join(dir, d))
	}
	b.WriteString("\tssl_session_cache off;\n\tssl_session_tickets off;\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "\tserver { # %s\n", s.Name)
		for _, a := range s.Listen {
			fmt.Fprintf(&b, "\t\tlisten %s ssl;\n", a)
		}
		for _, c := range pki.files(s.Cert) {
			fmt.Fprintf(&b, "\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n", c.cert, c.key)
		}
		fmt.Fprintf(&b, "\t\tssl_protocols %s;\n", s.Protocols)
		if s.Ciphers != "" {
			fmt.Fprintf(&b, "\t\tssl_ciphers '%s';\n", s.Ciphers)
		}
		fmt.Fprintf(&b, "\t\tssl_prefer_server_ciphers %s;\n", onOff(!s.ClientOrder))
		if s.DH != "" {
			fmt.Fprintf(&b, "\t\tssl_dhparam %s;\n", pki.dh[s.DH])
		}
		if s.TLS13 != "" {
			fmt.Fprintf(&b, "\t\tssl_conf_command Ciphersuites %s;\n", s.TLS13)
		}
		b.WriteString("\t\tlocation / {\n\t\t\treturn 200 \"ok\\n\";\n\t\t}\n\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

var tempPathFlag = regexp.MustCompile(`--http-([a-z-]+)-temp-path`)

// nginxTempDirectives returns the *_temp_path directives this nginx build
// knows (nginx-light lacks some modules), so that every temporary
// directory goes under the benchmark's own directory instead of
// /var/lib/nginx.
func nginxTempDirectives(tb testing.TB, bin string) []string {
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		tb.Fatalf("nginx -V: %v\n%s", err, out)
	}
	var ds []string
	for _, m := range tempPathFlag.FindAllStringSubmatch(string(out), -1) {
		ds = append(ds, strings.ReplaceAll(m[1], "-", "_")+"_temp_path")
	}
	return ds
}
