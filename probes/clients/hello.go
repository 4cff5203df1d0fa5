package clients

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Extension types read or rewritten in a client's hello.
const (
	extServerName        = 0
	extSupportedGroups   = 10
	extSignatureAlgs     = 13
	extPadding           = 21
	extSupportedVersions = 43
	extKeyShare          = 51
)

// Hello is what one ClientHello offers, as read from its bytes.
type Hello struct {
	// SSLv2 marks a hello in the SSL 2.0 format (RFC 6101 appendix E.1),
	// which old clients send to reach SSLv2 servers too.
	SSLv2 bool
	// Version is client_version: the newest version offered without
	// supported_versions.
	Version uint16
	// Suites are the cipher suites in the client's order, signalling
	// values included, GREASE values left out; likewise below.
	Suites []uint16
	// Groups is the supported_groups extension; GroupsSent says whether
	// the extension was sent at all (RFC 4492: a client that sends none
	// takes any curve).
	Groups     []uint16
	GroupsSent bool
	// KeyShares are the groups of the TLS 1.3 key_share entries.
	KeyShares []uint16
	// SignatureAlgorithms is the signature_algorithms extension.
	SignatureAlgorithms []uint16
	// Versions is the supported_versions extension.
	Versions []uint16
	// SNI says whether the hello carries a server_name.
	SNI bool

	challenge int // the SSL 2.0 challenge's length
}

// grease reports the reserved GREASE values of RFC 8701 (0x0a0a, 0x1a1a,
// ...), which a client sends to keep servers tolerant and which mean
// nothing else.
func grease(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// MaxVersion is the newest version the hello offers. Drafts of TLS 1.3
// (0x7fxx, which Chrome 57-65 and Firefox 53-62 offered) do not count:
// servers speak the final version only, so those clients get TLS 1.2.
func (h *Hello) MaxVersion() uint16 {
	best := h.Version
	for _, v := range h.Versions {
		if v <= 0x0304 {
			best = max(best, v)
		}
	}
	return best
}

// MinVersion is the oldest version the hello offers when it says so, in
// supported_versions; zero when it does not (the client's floor is then
// not in its hello).
func (h *Hello) MinVersion() uint16 {
	var low uint16
	for _, v := range h.Versions {
		if v <= 0x0304 && (low == 0 || v < low) {
			low = v
		}
	}
	return low
}

// ParseHello reads a ClientHello in one TLS record, or in the SSL 2.0
// format.
func ParseHello(b []byte) (*Hello, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		return parseSSLv2Hello(b)
	}
	m, err := helloMessage(b)
	if err != nil {
		return nil, err
	}
	h := &Hello{}
	var exts cryptobyte.String
	if exts, err = parseHelloBody(m, h); err != nil {
		return nil, err
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, errors.New("client hello: truncated extension")
		}
		if err := h.extension(typ, data); err != nil {
			return nil, fmt.Errorf("client hello: extension %d: %w", typ, err)
		}
	}
	return h, nil
}

// helloMessage returns the ClientHello's body from its record.
func helloMessage(b []byte) (cryptobyte.String, error) {
	s := cryptobyte.String(b)
	var typ, msgType uint8
	var recVersion uint16
	var frag, body cryptobyte.String
	if !s.ReadUint8(&typ) || !s.ReadUint16(&recVersion) || !s.ReadUint16LengthPrefixed(&frag) || typ != 22 {
		return nil, errors.New("client hello: not one handshake record")
	}
	if !frag.ReadUint8(&msgType) || !frag.ReadUint24LengthPrefixed(&body) || msgType != 1 {
		return nil, errors.New("client hello: not a ClientHello message")
	}
	return body, nil
}

// parseHelloBody reads the fields before the extensions, and returns
// the extensions' bytes.
func parseHelloBody(m cryptobyte.String, h *Hello) (cryptobyte.String, error) {
	var random, sid, suites, comp, exts cryptobyte.String
	if !m.ReadUint16(&h.Version) || !m.ReadBytes((*[]byte)(&random), 32) || !m.ReadUint8LengthPrefixed(&sid) ||
		!m.ReadUint16LengthPrefixed(&suites) || !m.ReadUint8LengthPrefixed(&comp) {
		return nil, errors.New("client hello: truncated")
	}
	var err error
	if h.Suites, err = readUint16s(suites); err != nil {
		return nil, fmt.Errorf("client hello: cipher suites: %w", err)
	}
	if !m.Empty() && !m.ReadUint16LengthPrefixed(&exts) {
		return nil, errors.New("client hello: truncated extensions")
	}
	return exts, nil
}

func (h *Hello) extension(typ uint16, data cryptobyte.String) error {
	var list cryptobyte.String
	var err error
	switch typ {
	case extServerName:
		h.SNI = true
	case extSupportedGroups:
		h.GroupsSent = true
		if !data.ReadUint16LengthPrefixed(&list) {
			return errors.New("truncated")
		}
		h.Groups, err = readUint16s(list)
	case extSignatureAlgs:
		if !data.ReadUint16LengthPrefixed(&list) {
			return errors.New("truncated")
		}
		h.SignatureAlgorithms, err = readUint16s(list)
	case extSupportedVersions:
		if !data.ReadUint8LengthPrefixed(&list) {
			return errors.New("truncated")
		}
		h.Versions, err = readUint16s(list)
	case extKeyShare:
		h.KeyShares, err = readKeyShares(data)
	}
	return err
}

func readUint16s(s cryptobyte.String) ([]uint16, error) {
	var out []uint16
	for !s.Empty() {
		var v uint16
		if !s.ReadUint16(&v) {
			return nil, errors.New("odd length")
		}
		if !grease(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func readKeyShares(data cryptobyte.String) ([]uint16, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) {
		return nil, errors.New("truncated")
	}
	var out []uint16
	for !list.Empty() {
		var g uint16
		var key cryptobyte.String
		if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&key) {
			return nil, errors.New("truncated key share")
		}
		if !grease(g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// parseSSLv2Hello reads an SSL 2.0 CLIENT-HELLO: its cipher specs whose
// first byte is zero are TLS cipher suites.
func parseSSLv2Hello(b []byte) (*Hello, error) {
	s := cryptobyte.String(b)
	var length uint16
	var typ uint8
	var specLen, sidLen, chLen uint16
	h := &Hello{SSLv2: true}
	if !s.ReadUint16(&length) || !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint16(&h.Version) ||
		!s.ReadUint16(&specLen) || !s.ReadUint16(&sidLen) || !s.ReadUint16(&chLen) || specLen%3 != 0 {
		return nil, errors.New("sslv2 client hello: malformed")
	}
	var specs []byte
	if !s.ReadBytes(&specs, int(specLen)) || !s.Skip(int(sidLen)) || len(s) != int(chLen) || chLen < 16 || chLen > 32 ||
		int(length&0x7fff) != len(b)-2 {
		return nil, errors.New("sslv2 client hello: malformed")
	}
	h.challenge = int(chLen)
	for i := 0; i+2 < len(specs); i += 3 {
		if specs[i] == 0 {
			h.Suites = append(h.Suites, uint16(specs[i+1])<<8|uint16(specs[i+2]))
		}
	}
	return h, nil
}

// ForServer returns the hello as a client sends it to serverName: the
// recorded server_name replaced by serverName (removed when it is empty,
// as a client connecting to an address sends none), a fresh random, and
// the padding extension resized so that the hello keeps its length
// where it can (clients pad to stay out of the lengths some servers
// mishandle). A hello without SNI, or in the SSL 2.0 format, is sent as
// recorded, with a fresh challenge or random.
func ForServer(raw []byte, serverName string) ([]byte, error) {
	if len(raw) > 0 && raw[0]&0x80 != 0 {
		h, err := parseSSLv2Hello(raw)
		if err != nil {
			return nil, err
		}
		out := append([]byte(nil), raw...)
		_, _ = rand.Read(out[len(out)-h.challenge:]) // the challenge ends the message
		return out, nil
	}
	m, err := helloMessage(raw)
	if err != nil {
		return nil, err
	}
	var version uint16
	var random, sid, suites, comp, exts cryptobyte.String
	if !m.ReadUint16(&version) || !m.ReadBytes((*[]byte)(&random), 32) || !m.ReadUint8LengthPrefixed(&sid) ||
		!m.ReadUint16LengthPrefixed(&suites) || !m.ReadUint8LengthPrefixed(&comp) || !m.ReadUint16LengthPrefixed(&exts) {
		return nil, errors.New("client hello: truncated")
	}
	list, err := rewriteExtensions(exts, serverName)
	if err != nil {
		return nil, err
	}
	var fresh [32]byte
	_, _ = rand.Read(fresh[:])
	body := cryptobyte.NewBuilder(nil)
	body.AddUint16(version)
	body.AddBytes(fresh[:])
	body.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
	body.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(suites) })
	body.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(comp) })
	body.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range list {
			b.AddUint16(e.typ)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
		}
	})
	msg, err := body.Bytes()
	if err != nil {
		return nil, fmt.Errorf("client hello: %w", err)
	}
	out := cryptobyte.NewBuilder(nil)
	out.AddUint8(22)
	out.AddBytes(raw[1:3])
	out.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(1)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(msg) })
	})
	return out.Bytes()
}

type extension struct {
	typ  uint16
	data []byte
}

// rewriteExtensions replaces the server_name and resizes the padding by
// as much as the name's length changed.
func rewriteExtensions(exts cryptobyte.String, serverName string) ([]extension, error) {
	var list []extension
	grown, pad := 0, -1
	for !exts.Empty() {
		var e extension
		if !exts.ReadUint16(&e.typ) || !exts.ReadUint16LengthPrefixed((*cryptobyte.String)(&e.data)) {
			return nil, errors.New("client hello: truncated extension")
		}
		switch e.typ {
		case extServerName:
			if serverName == "" {
				grown -= 4 + len(e.data)
				continue
			}
			name := serverNameData(serverName)
			grown += len(name) - len(e.data)
			e.data = name
		case extPadding:
			pad = len(list)
		}
		list = append(list, e)
	}
	if pad >= 0 {
		n := max(0, len(list[pad].data)-grown)
		list[pad].data = make([]byte, n)
	}
	return list, nil
}

func serverNameData(name string) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(0) // host_name
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
	})
	return b.BytesOrPanic()
}
