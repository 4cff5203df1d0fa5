package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// TestServeNotifies runs serve as it is wired, with a subscription made
// through the API and a webhook receiver on loopback: a new target whose
// first scan is not compliant reaches the receiver as one signed digest
// linking to serve's public URL, the delivery is recorded, and neither the
// receiver's URL nor its secret shows in the log or the API.
func TestServeNotifies(t *testing.T) {
	for _, backend := range testdb.Names {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			storeArgs := []string{"--data-dir", dir}
			if backend == "postgres" {
				storeArgs = []string{"--database-url", testdb.PostgresURL(t)}
			}
			ca := tlstest.NewCA(t, "notify e2e CA")
			cert := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
			srv := tlstest.NewSwitchServer(t, &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{cert},
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, nil)
			caFile := filepath.Join(dir, "ca.pem")
			if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DER}), 0o600); err != nil {
				t.Fatal(err)
			}

			var mu sync.Mutex
			var bodies [][]byte
			var sigs []string
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
				mu.Lock()
				bodies, sigs = append(bodies, b), append(sigs, r.Header.Get(notify.SignatureHeader))
				mu.Unlock()
			}))
			t.Cleanup(rcv.Close)
			const path = "/hooks/e2e-SECRETPATH"
			const secret = "e2e-signing-secret-0123456789"

			stderr := &syncBuffer{}
			m := NewMain(io.Discard, stderr)
			err := m.ParseFlags(append([]string{"--listen", "127.0.0.1:0", "--allow-cidr", "127.0.0.0/8", "--ca-file", caFile,
				"--schedule", "off", "--http-port", "1", "--log-level", "debug", "--notify-debounce", "100ms",
				"--public-url", "https://tlswarden.example.test"}, storeArgs...))
			if err != nil {
				t.Fatal(err)
			}
			m.Jobs.PollInterval = 50 * time.Millisecond
			if err := m.Run(t.Context()); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			t.Cleanup(func() {
				if err := m.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c := apiClient{t: t, base: m.URL(), token: createToken(t, storeArgs, "e2e", "admin")}
			var sub struct{ ID int64 }
			c.do("POST", "/api/v1/subscriptions", map[string]any{"name": "web team", "owner": "web", "channel": "webhook",
				"url": rcv.URL + path, "secret": secret}, http.StatusCreated, &sub)
			var tg store.Target
			c.do("POST", "/api/v1/targets", map[string]any{"host": srv.Addr.Addr().String(), "port": srv.Addr.Port(), "owner": "web"}, http.StatusCreated, &tg)
			c.scan(tg.ID)

			var ds struct{ Deliveries []store.Delivery }
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				c.do("GET", fmt.Sprintf("/api/v1/deliveries?subscription_id=%d", sub.ID), nil, http.StatusOK, &ds)
				if len(ds.Deliveries) == 1 && ds.Deliveries[0].Status == store.DeliverySent {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no delivery sent after 60s: %+v", ds.Deliveries)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(bodies))
			}
			if err := notify.Verify(secret, sigs[0], bodies[0], time.Now(), time.Minute); err != nil {
				t.Errorf("signature: %v", err)
			}
			var dg notify.Digest
			if err := json.Unmarshal(bodies[0], &dg); err != nil {
				t.Fatal(err)
			}
			wantLink := fmt.Sprintf("https://tlswarden.example.test/targets/%d", tg.ID)
			if dg.Counts.NewTargets != 1 || len(dg.Items) != 1 || dg.Items[0].Link != wantLink || dg.DeliveryID != ds.Deliveries[0].ID {
				t.Errorf("digest: %s", bodies[0])
			}
			var listed string
			c.do("GET", "/api/v1/subscriptions", nil, http.StatusOK, &listed)
			for _, leak := range []string{"SECRETPATH", secret} {
				if strings.Contains(stderr.String(), leak) || strings.Contains(listed, leak) {
					t.Errorf("%q shows in the log or the API", leak)
				}
			}
		})
	}
}
