package tlstest

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
)

// SwitchServer is an HTTPS server on 127.0.0.1 whose TLS configuration can
// be replaced while it runs, as an operator reconfiguring a server would:
// each new connection gets the configuration set last.
type SwitchServer struct {
	Addr netip.AddrPort
	cfg  atomic.Pointer[tls.Config]
}

// NewSwitchServer starts a SwitchServer with cfg, answering every request
// with h (an empty 200 when h is nil). It stops when the test ends.
func NewSwitchServer(t testing.TB, cfg *tls.Config, h http.Handler) *SwitchServer {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	}
	s := &SwitchServer{}
	s.cfg.Store(cfg)
	srv := httptest.NewUnstartedServer(h)
	// Handshake errors are what a scanner provokes; they are not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return s.cfg.Load(), nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.Addr = srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	return s
}

// SetConfig replaces the configuration for new connections.
func (s *SwitchServer) SetConfig(cfg *tls.Config) { s.cfg.Store(cfg) }
