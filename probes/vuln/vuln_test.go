package vuln

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// scan runs the probe against addr as the scanner would.
func scan(t *testing.T, cfg Config, addr netip.AddrPort) *tlswarden.VulnResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr.String())
	}
	obs, err := Probe(cfg).Run(ctx, tlswarden.Endpoint{Host: "localhost", Addr: addr}, dial)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if obs.Vuln == nil {
		t.Fatal("no VulnResult")
	}
	return obs.Vuln
}

// verdict is what the tests compare: the weakness facts of a result.
type verdict struct {
	Heartbeat, OverlongAnswered, EarlyCCS, FallbackRejected bool
	Compression, CCSAnswer, FallbackAnswer                  string
}

func verdictOf(r *tlswarden.VulnResult) verdict {
	v := verdict{Heartbeat: r.Features.Heartbeat, Compression: r.Features.Compression}
	if r.Heartbleed != nil {
		v.OverlongAnswered = r.Heartbleed.OverlongAnswered
	}
	if r.CCSInjection != nil {
		v.EarlyCCS, v.CCSAnswer = r.CCSInjection.EarlyCCSAccepted, r.CCSInjection.Answer
	}
	if r.FallbackSCSV != nil {
		v.FallbackRejected, v.FallbackAnswer = r.FallbackSCSV.Rejected, r.FallbackSCSV.Answer
	}
	return v
}

// TestVulnerableServer checks each weakness against a server that has it
// and the same server without it.
func TestVulnerableServer(t *testing.T) {
	tests := []struct {
		name string
		fs   fakeServer
		want verdict
	}{
		{"patched", fakeServer{fallback: true}, verdict{Compression: "null", CCSAnswer: "alert unexpected_message", FallbackRejected: true, FallbackAnswer: "alert inappropriate_fallback"}},
		{"heartbeat without heartbleed", fakeServer{heartbeat: true, fallback: true}, verdict{Heartbeat: true, Compression: "null", CCSAnswer: "alert unexpected_message", FallbackRejected: true, FallbackAnswer: "alert inappropriate_fallback"}},
		{"heartbleed", fakeServer{heartbleed: true, fallback: true}, verdict{Heartbeat: true, OverlongAnswered: true, Compression: "null", CCSAnswer: "alert unexpected_message", FallbackRejected: true, FallbackAnswer: "alert inappropriate_fallback"}},
		{"ccs injection", fakeServer{ccs: true, fallback: true}, verdict{Compression: "null", EarlyCCS: true, CCSAnswer: "alert bad_record_mac", FallbackRejected: true, FallbackAnswer: "alert inappropriate_fallback"}},
		{"no fallback scsv", fakeServer{}, verdict{Compression: "null", CCSAnswer: "alert unexpected_message", FallbackAnswer: "ServerHello with TLSv1.1"}},
		{"crime", fakeServer{deflate: true, fallback: true}, verdict{Compression: "deflate", CCSAnswer: "alert unexpected_message", FallbackRejected: true, FallbackAnswer: "alert inappropriate_fallback"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := scan(t, Config{AnswerWait: time.Second}, tc.fs.start(t))
			if diff := cmp.Diff(tc.want, verdictOf(r)); diff != "" {
				t.Errorf("(-want +got):\n%s\nresult %+v", diff, r)
			}
			// 6, the TLS 1.3 hello this TLS 1.2 server answers with a
			// TLS 1.2 flight, and the padding oracle check's handshake
			// (which this server cannot complete); CCS injection has one
			// of its own when Heartbleed holds the feature connection.
			want := 8
			if tc.fs.heartbeat || tc.fs.heartbleed {
				want++
			}
			if r.Connections != want {
				t.Errorf("%d connections, want %d", r.Connections, want)
			}
			if ss := r.SignatureSchemesTLS13; ss == nil || ss.Tested {
				t.Errorf("TLS 1.3 signature schemes of a TLS 1.2 server: %+v", ss)
			}
			if r.ROBOT == nil || r.ROBOT.Status != tlswarden.StatusOK || r.ROBOT.Tested {
				t.Errorf("ROBOT on a server without RSA key exchange: %+v", r.ROBOT)
			}
		})
	}
}

// TestHeartbleedAnswer checks what the Heartbleed check records: the
// length of a vulnerable server's answer, and a patched server's silence.
func TestHeartbleedAnswer(t *testing.T) {
	tests := []struct {
		fs   fakeServer
		want tlswarden.HeartbleedResult
	}{
		{fakeServer{heartbleed: true}, tlswarden.HeartbleedResult{Status: tlswarden.StatusOK, Tested: true, OverlongAnswered: true, Answer: "heartbeat response of 16419 bytes"}},
		{fakeServer{heartbeat: true}, tlswarden.HeartbleedResult{Status: tlswarden.StatusOK, Tested: true, Answer: "no answer"}},
	}
	for _, tc := range tests {
		r := scan(t, Config{AnswerWait: time.Second}, tc.fs.start(t))
		if diff := cmp.Diff(&tc.want, r.Heartbleed); diff != "" {
			t.Errorf("heartbleed (-want +got):\n%s", diff)
		}
	}
}

func TestFeaturesFromFakeServer(t *testing.T) {
	r := scan(t, Config{NoIntrusive: true}, fakeServer{fallback: true}.start(t))
	want := &tlswarden.TLSFeatures{
		Status: tlswarden.StatusOK, Version: tlswarden.TLS12, CipherSuite: 0xc02f,
		Extensions:          []string{"renegotiation_info", "extended_master_secret", "session_ticket", "status_request", "application_layer_protocol_negotiation"},
		SecureRenegotiation: true, Compression: "null", ExtendedMasterSecret: true, SessionTicket: true,
		SessionID: true, OCSPStapling: true, ALPN: "h2",
	}
	if diff := cmp.Diff(want, r.Features); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{CheckHeartbleed, CheckCCSInjection, CheckROBOT, CheckPaddingOracle, CheckRenegotiation}, r.Skipped); diff != "" || r.CCSInjection != nil || r.ClientRenegotiation != nil || r.Connections != 5 { // 4 and the TLS 1.3 signature schemes' hello
		t.Errorf("NoIntrusive: skipped %v, ccs %+v, %d connections", r.Skipped, r.CCSInjection, r.Connections)
	}
}

// TestClientCertificateRequest reads a CertificateRequest naming a CA.
func TestClientCertificateRequest(t *testing.T) {
	ca := tlstest.NewCA(t, "Test Client CA")
	dn := ca.Cert.Cert.RawSubject
	body := []byte{2, 1, 64, 0, 4, 0x04, 0x01, 0x04, 0x03}
	body = append(body, byte((len(dn)+2)>>8), byte(len(dn)+2), byte(len(dn)>>8), byte(len(dn)))
	body = append(body, dn...)
	r := scan(t, Config{NoIntrusive: true}, fakeServer{fallback: true, certRequest: body}.start(t))
	want := &tlswarden.ClientCertRequest{
		CertificateTypes: []string{"rsa_sign", "ecdsa_sign"}, SignatureSchemes: []uint16{0x0401, 0x0403},
		CANames: []string{ca.Cert.Cert.Subject.String()}, CANamesCount: 1,
	}
	if diff := cmp.Diff(want, r.Features.ClientCertificate); diff != "" {
		t.Errorf("client certificate request (-want +got):\n%s", diff)
	}
}

// TestROBOT checks a Bleichenbacher oracle is found, and a server that
// answers every premaster secret alike is not.
func TestROBOT(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
	tests := []struct {
		name        string
		fs          fakeServer
		oracle      bool
		connections int
	}{
		{"oracle", fakeServer{rsa: cert, robot: true, fallback: true}, true, 7 + 10}, // 5, the TLS 1.3 signature schemes' hello and the padding oracle check's
		{"constant time", fakeServer{rsa: cert, fallback: true}, false, 7 + 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(t, Config{AnswerWait: time.Second}, tc.fs.start(t))
			rb := r.ROBOT
			if rb == nil || rb.Status != tlswarden.StatusOK || !rb.Tested || rb.Oracle != tc.oracle || len(rb.Answers) != len(robotVariants) {
				t.Fatalf("ROBOT %+v, want oracle %v", rb, tc.oracle)
			}
			if r.Connections != tc.connections {
				t.Errorf("%d connections, want %d", r.Connections, tc.connections)
			}
			t.Logf("answers %q", rb.Answers)
		})
	}
}
