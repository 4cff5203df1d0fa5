package testbed

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
)

// mailSpec is a testbed mail server: SMTP up to STARTTLS (never further:
// it accepts no mail), offering STARTTLS when config is set.
type mailSpec struct {
	name, desc string
	config     func(c *certs) *tls.Config // nil: STARTTLS not offered
}

var mailSpecs = []mailSpec{
	{"mail-tls10", "SMTP with STARTTLS, TLS 1.0 to 1.2 with CBC suites",
		func(c *certs) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.valid}, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}
		}},
	{"mail-no-starttls", "SMTP that does not offer STARTTLS: every message crosses in plain text", nil},
}

// mailServer is a running testbed mail server.
type mailServer struct {
	ln   net.Listener
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func (m *mailServer) Close() error {
	m.stop()
	err := m.ln.Close()
	m.wg.Wait()
	return err
}

func serveMail(ctx context.Context, s mailSpec, c *certs, log *slog.Logger) (Endpoint, *mailServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return Endpoint{}, nil, err
	}
	var cfg *tls.Config
	if s.config != nil {
		cfg = s.config(c)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &mailServer{ln: ln, stop: cancel}
	m.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			m.wg.Go(func() { smtpSession(ctx, conn, cfg, log) })
		}
	})
	ep := Endpoint{Name: s.name, Description: s.desc, Kind: tlswarden.KindSMTP, Addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	return ep, m, nil
}

// smtpSession greets, answers EHLO and, when cfg is set, STARTTLS with a
// TLS handshake; anything else is refused. Bounded: 30 s and 4 KiB lines.
func smtpSession(ctx context.Context, conn net.Conn, cfg *tls.Config, log *slog.Logger) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(io.LimitReader(conn, 64<<10), 4096)
	io.WriteString(conn, "220 testbed.invalid ESMTP tlswarden testbed\r\n")
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(string(line))); {
		case strings.HasPrefix(cmd, "EHLO"):
			if cfg != nil {
				io.WriteString(conn, "250-testbed.invalid\r\n250-STARTTLS\r\n")
			}
			io.WriteString(conn, "250 8BITMIME\r\n")
		case cmd == "STARTTLS" && cfg != nil:
			io.WriteString(conn, "220 2.0.0 Ready to start TLS\r\n")
			if err := tls.Server(conn, cfg).HandshakeContext(ctx); err != nil {
				log.Debug("testbed mail handshake", "err", err)
			}
			return
		case cmd == "QUIT":
			io.WriteString(conn, "221 2.0.0 Bye\r\n")
			return
		default:
			io.WriteString(conn, "502 5.5.2 this testbed accepts no mail\r\n")
		}
	}
}
