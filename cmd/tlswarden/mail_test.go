package main

import (
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
)

// TestScanMailDomain: scan mail://DOMAIN lists the MX hosts, looks up
// MTA-STS and TLS-RPT, and a null MX is the answer "accepts no mail"
// (exit 0), not an error.
func TestScanMailDomain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // nothing listens: the endpoint is refused
	dns := dnstest.New(t)
	dns.Add("nomail.test. 60 IN MX 0 .",
		"mx.test. 60 IN MX 10 mx1.mx.test.",
		"mx1.mx.test. 60 IN A 127.0.0.1",
		"_smtp._tls.mx.test. 60 IN TXT \"v=TLSRPTv1; rua=mailto:tls@mx.test\"")

	code, table, stderr := runCmd(t, "", "scan", "--progress=false", "--resolver", dns.Addr, "mail://nomail.test")
	if code != 0 || !strings.Contains(table, "null MX (RFC 7505): nomail.test accepts no mail") {
		t.Errorf("null MX: exit %d, want 0 and the answer in the table:\n%s\n%s", code, table, stderr)
	}

	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--resolver", dns.Addr, "mail://mx.test:"+port)
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Mail == nil || len(r.Endpoints) != 1 {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	if e := r.Endpoints[0]; e.Endpoint.Host != "mx1.mx.test" || e.Endpoint.Addr.String() != "127.0.0.1:"+port || e.Status != tlswarden.StatusRefused {
		t.Errorf("endpoint %+v %s, want mx1.mx.test at 127.0.0.1:%s, refused", e.Endpoint, e.Status, port)
	}
	if m := r.Mail; m.MTASTS == nil || m.MTASTS.RecordOutcome != tlswarden.OutcomeNXDomain || m.TLSRPT == nil || len(m.TLSRPT.RUA) != 1 {
		t.Errorf("mail facts %+v (MTA-STS %+v, TLS-RPT %+v), want no MTA-STS and the TLS-RPT record", m, m.MTASTS, m.TLSRPT)
	}
	_, table, _ = runCmd(t, "", "scan", "--progress=false", "--resolver", dns.Addr, "mail://mx.test:"+port)
	if !regexp.MustCompile(`(?m)^\s+MX 10\s+mx1\.mx\.test$`).MatchString(table) {
		t.Errorf("table lacks the MX line:\n%s", table)
	}
}
