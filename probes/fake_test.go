package probes

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// fakeServer is a scripted TLS server for what crypto/tls cannot be made to
// do: follow the client's order, offer DHE, SSLv3 or SSLv2, or choke on
// large hellos. It parses the ClientHello, negotiates as a server would and
// answers with a ServerHello (and ServerKeyExchange) or an alert. It never
// completes a handshake, which the probe never asks for.
type fakeServer struct {
	// suites maps each version the server speaks to its suites, in its
	// order of preference.
	suites map[tlswarden.Version][]uint16
	// clientOrder makes it pick by the client's order.
	clientOrder bool
	// groups are its groups (TLS 1.3 and ECDHE curves), in its order.
	groups []uint16
	// dhBits is the size of its DH prime.
	dhBits int
	// sslv2 lists its SSLv2 cipher kinds; nil closes on SSLv2 hellos.
	sslv2 []uint32
	// maxHello, when set, closes the connection without a word on a
	// ClientHello record longer than this.
	maxHello int
	// stall, when set, says which ClientHellos get no answer at all.
	stall func(clientHelloInfo) bool

	mu    sync.Mutex
	hello []clientHelloInfo // every ClientHello seen
}

// clientHelloInfo is what the fake server reads of a ClientHello.
type clientHelloInfo struct {
	version    uint16
	suites     []uint16
	groups     []uint16
	versions   []uint16 // supported_versions
	serverName string
	recordLen  int
}

func (fs *fakeServer) handle(ctx context.Context, c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var first [2]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		return
	}
	if first[0]&0x80 != 0 {
		fs.answerSSLv2(c, int(first[0]&0x7f)<<8|int(first[1]))
		return
	}
	var rest [3]byte
	if _, err := io.ReadFull(c, rest[:]); err != nil {
		return
	}
	n := int(rest[1])<<8 | int(rest[2])
	payload := make([]byte, n)
	if _, err := io.ReadFull(c, payload); err != nil {
		return
	}
	ch, ok := fakeParseHello(payload)
	if !ok {
		return
	}
	ch.recordLen = 5 + n
	fs.mu.Lock()
	fs.hello = append(fs.hello, ch)
	fs.mu.Unlock()
	if fs.stall != nil && fs.stall(ch) {
		tlstest.Silent(ctx, c)
		return
	}
	if fs.maxHello > 0 && ch.recordLen > fs.maxHello {
		return
	}
	_, _ = c.Write(fs.answer(ch))
}

func (fs *fakeServer) hellos() []clientHelloInfo {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.hello)
}

func fakeParseHello(b []byte) (clientHelloInfo, bool) {
	var ch clientHelloInfo
	s := cryptobyte.String(b)
	var typ uint8
	var body, sid, suites, comp, exts cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint24LengthPrefixed(&body) || !body.ReadUint16(&ch.version) ||
		!body.Skip(32) || !body.ReadUint8LengthPrefixed(&sid) || !body.ReadUint16LengthPrefixed(&suites) ||
		!body.ReadUint8LengthPrefixed(&comp) {
		return ch, false
	}
	ch.suites = fakeU16s(suites)
	if body.Empty() || !body.ReadUint16LengthPrefixed(&exts) {
		return ch, true
	}
	for !exts.Empty() {
		var typ uint16
		var data, list cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return ch, false
		}
		switch typ {
		case 0:
			var name cryptobyte.String
			if data.ReadUint16LengthPrefixed(&list) && list.Skip(1) && list.ReadUint16LengthPrefixed(&name) {
				ch.serverName = string(name)
			}
		case 10:
			if data.ReadUint16LengthPrefixed(&list) {
				ch.groups = fakeU16s(list)
			}
		case 43:
			if data.ReadUint8LengthPrefixed(&list) {
				ch.versions = fakeU16s(list)
			}
		}
	}
	return ch, true
}

func fakeU16s(s cryptobyte.String) []uint16 {
	var out []uint16
	var v uint16
	for s.ReadUint16(&v) {
		out = append(out, v)
	}
	return out
}

// answer negotiates as a server: TLS 1.3 when offered and spoken, else the
// highest version not above the client's.
func (fs *fakeServer) answer(ch clientHelloInfo) []byte {
	if slices.Contains(ch.versions, 0x0304) && fs.suites[tlswarden.TLS13] != nil {
		suite, okSuite := fs.choose(ch.suites, fs.suites[tlswarden.TLS13], nil)
		group, okGroup := fs.choose(ch.groups, fs.groups, nil)
		if !okSuite || !okGroup {
			return fakeAlert(40)
		}
		return fakeRecord(22, 0x0303, fakeHandshake(2, fakeServerHello(0x0303, suite, fakeHRRRandom(), fakeExt16(43, 0x0304), fakeExt16(51, group))))
	}
	var v tlswarden.Version
	for cand := range fs.suites {
		if cand != tlswarden.TLS13 && cand <= tlswarden.Version(ch.version) && cand > v {
			v = cand
		}
	}
	if v == 0 {
		return fakeAlert(70)
	}
	usable := func(code uint16) bool {
		_, ok := fs.choose(ch.groups, fs.groups, nil)
		return !isECDHE(code) || ok
	}
	suite, ok := fs.choose(ch.suites, fs.suites[v], usable)
	if !ok {
		return fakeAlert(40)
	}
	msgs := fakeHandshake(2, fakeServerHello(uint16(v), suite, [32]byte{1}))
	switch {
	case isECDHE(suite):
		group, _ := fs.choose(ch.groups, fs.groups, nil)
		msgs = append(msgs, fakeHandshake(12, []byte{3, byte(group >> 8), byte(group), 1, 4, 0, 1, 0})...)
	case strings.HasPrefix(fakeKex(suite), "DHE_"):
		p := make([]byte, fs.dhBits/8)
		p[0] = 0x80
		ske := append([]byte{byte(len(p) >> 8), byte(len(p))}, p...)
		msgs = append(msgs, fakeHandshake(12, append(ske, 0, 1, 2, 0, 1, 7, 0, 0))...)
	}
	return fakeRecord(22, uint16(v), append(msgs, fakeHandshake(14, nil)...))
}

// choose picks from the client's list and the server's by whose order
// counts, skipping what usable rejects.
func (fs *fakeServer) choose(client, server []uint16, usable func(uint16) bool) (uint16, bool) {
	first, second := server, client
	if fs.clientOrder {
		first, second = client, server
	}
	for _, c := range first {
		if slices.Contains(second, c) && (usable == nil || usable(c)) {
			return c, true
		}
	}
	return 0, false
}

func (fs *fakeServer) answerSSLv2(c net.Conn, n int) {
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil || len(body) < 9 || fs.sslv2 == nil {
		return
	}
	var specs []byte
	for _, s := range fs.sslv2 {
		specs = append(specs, byte(s>>16), byte(s>>8), byte(s))
	}
	msg := []byte{4, 0, 1, 0, 2, 0, 2, byte(len(specs) >> 8), byte(len(specs)), 0, 16, 0x30, 0x00}
	msg = append(append(msg, specs...), make([]byte, 16)...)
	_, _ = c.Write(append([]byte{0x80 | byte(len(msg)>>8), byte(len(msg))}, msg...))
}

func fakeKex(code uint16) string {
	s, _ := iana.Suite(code)
	return s.KeyExchange
}

func isECDHE(code uint16) bool { return strings.HasPrefix(fakeKex(code), "ECDHE_") }

func fakeHRRRandom() [32]byte {
	return [32]byte{0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
		0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C}
}

func fakeServerHello(version, suite uint16, random [32]byte, exts ...[]byte) []byte {
	b := append([]byte{byte(version >> 8), byte(version)}, random[:]...)
	b = append(b, 0, byte(suite>>8), byte(suite), 0)
	var all []byte
	for _, e := range exts {
		all = append(all, e...)
	}
	return append(append(b, byte(len(all)>>8), byte(len(all))), all...)
}

// ext16 is an extension whose body is one 16-bit value.
func fakeExt16(typ, v uint16) []byte {
	return []byte{byte(typ >> 8), byte(typ), 0, 2, byte(v >> 8), byte(v)}
}

func fakeHandshake(typ uint8, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func fakeRecord(typ uint8, version uint16, payload []byte) []byte {
	return append([]byte{typ, byte(version >> 8), byte(version), byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

func fakeAlert(desc byte) []byte { return fakeRecord(21, 0x0303, []byte{2, desc}) }
