package hello

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// The ClientHello writer as it was before it wrote into one buffer (one
// cryptobyte.Builder per length prefix, the message built twice when it
// needed padding): TestMarshalMatchesReference checks that the bytes on the
// wire did not change.

// Marshal returns the ClientHello as one or more handshake records. Unless
// NoExtensions is set, it adds a padding extension (RFC 7685) so that no
// record is between 256 and 511 bytes long, lengths some load balancers
// mishandle.
func (h *ClientHello) refMarshal() ([]byte, error) {
	if len(h.SessionID) > 32 {
		return nil, fmt.Errorf("client hello: session id of %d bytes, at most 32 allowed", len(h.SessionID))
	}
	if len(h.CipherSuites) == 0 {
		return nil, errors.New("client hello: no cipher suites")
	}
	var exts []extension
	if !h.NoExtensions {
		exts = h.refExtensions()
	}
	msg, err := h.refMessage(exts)
	if err != nil {
		return nil, err
	}
	if n := paddingFor(len(msg)); n >= 0 && !h.NoExtensions {
		exts = append(exts, extension{typ: extPadding, data: make([]byte, n)})
		if msg, err = h.refMessage(exts); err != nil {
			return nil, err
		}
	}
	return records(recordHandshake, h.recordVersion(), msg), nil
}

// message returns the handshake message (header included) with the given
// extensions.
func (h *ClientHello) refMessage(exts []extension) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(typeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(h.Version)
		b.AddBytes(h.Random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.SessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range h.CipherSuites {
				b.AddUint16(s)
			}
		})
		if len(h.CompressionMethods) > 0 {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(h.CompressionMethods) })
		} else {
			b.AddUint8(1) // one compression method,
			b.AddUint8(0) // null
		}
		if h.NoExtensions {
			return
		}
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
		})
	})
	msg, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("client hello: %w", err)
	}
	return msg, nil
}

// extensions returns the extensions a modern client sends, in the order
// browsers send them, without padding.
func (h *ClientHello) refExtensions() []extension {
	var exts []extension
	add := func(typ uint16, f func(b *cryptobyte.Builder)) {
		b := cryptobyte.NewBuilder(nil)
		f(b)
		exts = append(exts, extension{typ: typ, data: b.BytesOrPanic()})
	}
	if name := sniName(h.ServerName); name != "" {
		add(extServerName, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0) // host_name
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
			})
		})
	}
	add(extExtendedMasterSecret, func(*cryptobyte.Builder) {})
	add(extRenegotiationInfo, func(b *cryptobyte.Builder) { b.AddUint8(0) }) // empty renegotiated_connection
	if len(h.Groups) > 0 {
		add(extSupportedGroups, refUint16List(h.Groups))
	}
	add(extECPointFormats, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) }) // uncompressed
	})
	add(extSessionTicket, func(*cryptobyte.Builder) {})
	schemes := h.SignatureSchemes
	if schemes == nil {
		schemes = defaultSignatureSchemes
	}
	add(extSignatureAlgorithms, refUint16List(schemes))
	if len(h.SupportedVersions) > 0 {
		add(extSupportedVersions, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, v := range h.SupportedVersions {
					b.AddUint16(v)
				}
			})
		})
		add(extPSKKeyExchangeModes, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) }) // psk_dhe_ke
		})
		add(extKeyShare, func(b *cryptobyte.Builder) { b.AddUint16(0) }) // no client shares
	}
	for _, e := range h.Extra {
		if i := slices.IndexFunc(exts, func(x extension) bool { return x.typ == e.Type }); i >= 0 {
			exts[i].data = e.Data
			continue
		}
		exts = append(exts, extension{typ: e.Type, data: e.Data})
	}
	return exts
}

// uint16List writes a list of 16-bit values with a 16-bit length prefix.
func refUint16List(vs []uint16) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, v := range vs {
				b.AddUint16(v)
			}
		})
	}
}

// refCertificateMarshal is CertificateHello.Marshal as it was, for the
// hello c holds after a Marshal (its random and session id).
func (c *CertificateHello) refCertificateMarshal() ([]byte, error) {
	h := &c.hello
	exts := h.refExtensions()
	for i := range exts {
		if exts[i].typ == extKeyShare && c.shares != nil {
			exts[i].data = c.shares.data
		}
	}
	all := cryptobyte.NewBuilder(nil)
	refUint16List(defaultSignatureSchemes)(all)
	exts = append(exts, extension{typ: extStatusRequest, data: []byte{1, 0, 0, 0, 0}}, extension{typ: extSCT},
		extension{typ: extSignatureAlgsCert, data: all.BytesOrPanic()})
	msg, err := h.refMessage(exts)
	if err != nil {
		return nil, err
	}
	if n := paddingFor(len(msg)); n >= 0 {
		exts = append(exts, extension{typ: extPadding, data: make([]byte, n)})
		if msg, err = h.refMessage(exts); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(msg, c.msg) {
		return nil, errors.New("the transcript's message differs from the one sent")
	}
	return records(recordHandshake, h.recordVersion(), msg), nil
}

// randomHello draws a ClientHello over the writer's cases: suites from
// none to past a record, names and IP literals, groups, schemes, TLS 1.3
// offers, no extensions, compression methods and extra extensions.
func randomHello(r *rand.Rand) ClientHello {
	uint16s := func(max int) []uint16 {
		vs := make([]uint16, r.IntN(max+1))
		for i := range vs {
			vs[i] = uint16(r.Uint32())
		}
		return vs
	}
	h := ClientHello{Version: []uint16{0x0300, 0x0301, 0x0302, 0x0303}[r.IntN(4)], RecordVersion: []uint16{0, 0x0301, 0x0303}[r.IntN(3)]}
	for i := range h.Random {
		h.Random[i] = byte(r.Uint32())
	}
	switch r.IntN(10) {
	case 0:
		h.CipherSuites = uint16s(9000)
	case 1, 2:
		h.CipherSuites = uint16s(300)
	default:
		h.CipherSuites = uint16s(40)
	}
	h.SessionID = make([]byte, []int{0, 0, 32, 16}[r.IntN(4)])
	h.ServerName = []string{"", "example.org", "a-much-longer-host-name.subdomain.example.org.", "192.0.2.1", "[2001:db8::1]"}[r.IntN(5)]
	if r.IntN(2) == 0 {
		h.Groups = uint16s(60)
	}
	if r.IntN(3) == 0 {
		h.SignatureSchemes = uint16s(20)
	}
	if r.IntN(3) == 0 {
		h.SupportedVersions = uint16s(4)
	}
	h.NoExtensions = r.IntN(8) == 0
	if r.IntN(6) == 0 {
		h.CompressionMethods = []uint8{1, 0}
	}
	for range r.IntN(3) {
		h.Extra = append(h.Extra, Extension{Type: []uint16{extSessionTicket, extRenegotiationInfo, 0x3374, 5}[r.IntN(4)], Data: bytes.Repeat([]byte{7}, r.IntN(40))})
	}
	return h
}

// TestMarshalMatchesReference compares the writer's bytes with the
// reference's for thousands of drawn hellos, certificate hellos among
// them, errors included.
func TestMarshalMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	for i := range 3000 {
		h := randomHello(r)
		got, gerr := h.Marshal()
		want, werr := h.refMarshal()
		if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) {
			t.Fatalf("hello %d (%d suites, name %q, no extensions %v): got %d bytes (%v), reference %d bytes (%v)",
				i, len(h.CipherSuites), h.ServerName, h.NoExtensions, len(got), gerr, len(want), werr)
		}
		if len(h.CipherSuites) == 0 || h.NoExtensions || len(h.SessionID) > 32 {
			continue
		}
		ch, err := NewCertificateHello(h)
		if err != nil {
			t.Fatal(err)
		}
		got, gerr = ch.Marshal()
		want, werr = ch.refCertificateMarshal()
		if !bytes.Equal(got, want) || gerr != nil || werr != nil {
			t.Fatalf("certificate hello %d: got %d bytes (%v), reference %d bytes (%v)", i, len(got), gerr, len(want), werr)
		}
	}
}

// TestMarshalErrorsMatchReference checks the lengths that do not fit.
func TestMarshalErrorsMatchReference(t *testing.T) {
	for _, h := range []ClientHello{
		{Version: 0x0303, CipherSuites: make([]uint16, 40000)},
		{Version: 0x0303, CipherSuites: []uint16{1}, CompressionMethods: make([]uint8, 300)},
		{Version: 0x0303, CipherSuites: []uint16{1}, Extra: []Extension{{Type: 99, Data: make([]byte, 70000)}}},
		{Version: 0x0303, CipherSuites: []uint16{1}, Extra: []Extension{{Type: 99, Data: make([]byte, 40000)}, {Type: 98, Data: make([]byte, 40000)}}},
	} {
		_, gerr := h.Marshal()
		_, werr := h.refMarshal()
		if gerr == nil || werr == nil {
			t.Errorf("%d suites, %d compression methods: error %v, reference's %v; want both", len(h.CipherSuites), len(h.CompressionMethods), gerr, werr)
		}
	}
}
