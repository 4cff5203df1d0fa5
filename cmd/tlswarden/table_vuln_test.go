package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// TestWriteVuln checks the table shows the weakness probe's facts.
func TestWriteVuln(t *testing.T) {
	v := &tlswarden.VulnResult{
		Features: &tlswarden.TLSFeatures{
			Status: tlswarden.StatusOK, Version: tlswarden.TLS12, Compression: "deflate", ALPN: "h2",
			Extensions: []string{"renegotiation_info"}, SecureRenegotiation: true,
			ClientCertificate: &tlswarden.ClientCertRequest{CANames: []string{"CN=Spine CA"}, CANamesCount: 1},
		},
		Heartbleed:   &tlswarden.HeartbleedResult{Status: tlswarden.StatusOK, Tested: true, OverlongAnswered: true, Answer: "heartbeat response of 16419 bytes"},
		FallbackSCSV: &tlswarden.FallbackResult{Status: tlswarden.StatusOK, Offered: tlswarden.TLS11, Answer: "ServerHello with TLSv1.1"},
		Resumption:   &tlswarden.ResumptionResult{Status: tlswarden.StatusOK, TicketIssued: true, TicketLifetimeHint: 300, ResumedWithTicket: true, SessionIDIssued: true},
		SignatureSchemesTLS13: &tlswarden.SignatureSchemesResult{Status: tlswarden.StatusOK, Version: tlswarden.TLS13, Tested: true,
			Schemes: []string{"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha512"}},
		Skipped:     []string{"robot"},
		Ticketbleed: &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK, Tested: true, Resumed: true, SessionIDSent: 16, SessionIDEchoed: 32, Leaked: true},
		PaddingOracle: &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Tested: true, Version: tlswarden.TLS12, CipherSuite: 0xc013,
			Consistent: true, Oracle: true, Answers: []tlswarden.PaddingAnswer{
				{Record: "valid MAC, invalid padding", Answer: "closed"},
				{Record: "invalid MAC, valid padding", Answer: "alert bad_record_mac (fatal), then closed"},
			}},
		TLS13Resumption: &tlswarden.TLS13ResumptionResult{Status: tlswarden.StatusOK, Tested: true, TicketIssued: true, Resumed: true, MaxEarlyData: 16384, EarlyDataAccepted: true},
		ClientRenegotiation: &tlswarden.RenegotiationResult{
			Status: tlswarden.StatusOK, Tested: true, Secure: true, Accepted: true, Answer: "ServerHello",
		},
	}
	var b bytes.Buffer
	writeVuln(&b, v)
	for _, want := range []string{
		"TLSv1.2, ALPN h2, compression deflate", "secure renegotiation, no extended master secret",
		"1 CA names: CN=Spine CA", "ticket (lifetime hint 300s), resumed; session ID NOT resumed", "heartbeat response of 16419 bytes",
		"TLSv1.1: ServerHello with TLSv1.1", "skipped\trobot",
		"signature schemes\tTLSv1.3: rsa_pss_rsae_sha256, rsa_pss_rsae_sha512",
		"client renegotiation\tALLOWED (secure): ServerHello",
		"TLS 1.3 resumption\tticket, PSK resumed; 0-RTT ACCEPTED (up to 16384 bytes)",
		"ticketbleed\tVULNERABLE: 16-byte session ID echoed as 32 bytes",
		"padding oracle\tORACLE (answers differ, twice), TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: valid MAC, invalid padding: closed; invalid MAC, valid padding: alert bad_record_mac (fatal), then closed",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
