package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// serve answers only for host names it serves (its --public-url, IP
// literals, localhost), on the API and /metrics alike, and warns when it
// listens beyond loopback with reads open.
func TestServeHostCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	// 0.0.0.0 listens on every interface; the test talks to 127.0.0.1.
	err := m.ParseFlags([]string{"--data-dir", t.TempDir(), "--listen", "0.0.0.0:0", "--schedule", "off", "--log-level", "warn",
		"--public-url", "https://TLSWarden.example.org", "--public-url", "http://scrape.internal:8080,http://other.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	port := m.ln.Addr().String()[strings.LastIndex(m.ln.Addr().String(), ":"):]
	base := "http://127.0.0.1" + port
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"127.0.0.1" + port, "/api/v1/targets", 200},
		{"localhost" + port, "/metrics", 200},
		{"tlswarden.example.org", "/api/v1/targets", 200},
		{"scrape.internal:8080", "/metrics", 200},
		{"other.internal", "/healthz", 200},
		{"rebound.attacker.example" + port, "/api/v1/targets", 421},
		{"rebound.attacker.example" + port, "/metrics", 421},
	} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with Host %q: %d, want %d", tc.path, tc.host, resp.StatusCode, tc.want)
		}
	}
	if logs := stderr.String() + stdout.String(); !strings.Contains(logs, "reads of the API are open") {
		t.Errorf("no warning about open reads on 0.0.0.0:\n%s", logs)
	}
	if err := NewMain(&stdout, &stderr).ParseFlags([]string{"--public-url", "tlswarden.example.org"}); err == nil {
		t.Error("--public-url without a scheme accepted")
	}
}

// TestLinkURL: the links serve prints for people start with the first
// --public-url, not with the listener's address.
func TestLinkURL(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--public-url", "https://tlswarden.example.org/,http://10.0.0.5:8080"}); err != nil {
		t.Fatal(err)
	}
	if got := m.LinkURL(); got != "https://tlswarden.example.org" {
		t.Errorf("LinkURL %q, want https://tlswarden.example.org", got)
	}
}
