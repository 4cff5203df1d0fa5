package api_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// TestEndpointReportEveryChain: a scan requested through the API of a
// server holding an RSA and an ECDSA certificate gives an endpoint report
// that lists both chains.
func TestEndpointReportEveryChain(t *testing.T) {
	e := newEnv(t, testdb.Names[0], true)
	rsaCert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	ecCert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	srv := tlstest.NewSwitchServer(t, &tls.Config{Certificates: []tls.Certificate{rsaCert, ecCert}}, nil)
	var tg store.Target
	e.want("POST", "/api/v1/targets", map[string]any{"host": "127.0.0.1", "port": srv.Addr.Port()}, http.StatusCreated, &tg)
	var req jobs.Request
	e.want("POST", fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID), nil, http.StatusAccepted, &req)
	for deadline := time.Now().Add(30 * time.Second); !req.Done && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		e.want("GET", fmt.Sprintf("/api/v1/scan-requests/%d", req.ID), nil, http.StatusOK, &req)
	}
	if req.ScanID == 0 {
		t.Fatalf("scan request: %+v", req)
	}
	var out struct {
		Report tlswarden.EndpointReport `json:"report"`
	}
	e.want("GET", fmt.Sprintf("/api/v1/scans/%d/endpoints/0", req.ScanID), nil, http.StatusOK, &out)
	keys := map[string]bool{}
	for _, c := range out.Report.Cert.Chains() {
		keys[c.Leaf().KeyType] = true
	}
	if !keys["RSA"] || !keys["ECDSA"] || len(keys) != 2 {
		t.Errorf("chains of key types %v, want RSA and ECDSA", keys)
	}
}
