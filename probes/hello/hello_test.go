package hello

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
)

// parsedHello is a ClientHello read back from the wire by parseClientHello.
type parsedHello struct {
	RecordVersions []uint16
	RecordLengths  []int
	Version        uint16
	Random         [32]byte
	SessionID      []byte
	Suites         []uint16
	Compression    []byte
	HasExtensions  bool
	ExtOrder       []uint16
	Ext            map[uint16][]byte
	MessageLength  int
}

// parseClientHello is a small, strict parser of our own output, written
// independently of the builder so the tests check the bytes, not the code.
func parseClientHello(t *testing.T, b []byte) parsedHello {
	t.Helper()
	var p parsedHello
	var msg []byte
	for len(b) > 0 {
		if len(b) < 5 || b[0] != recordHandshake {
			t.Fatalf("bad record header % x", b[:min(5, len(b))])
		}
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n || n > MaxRecordPayload {
			t.Fatalf("record length %d with %d bytes left", n, len(b)-5)
		}
		p.RecordVersions = append(p.RecordVersions, uint16(b[1])<<8|uint16(b[2]))
		p.RecordLengths = append(p.RecordLengths, 5+n)
		msg = append(msg, b[5:5+n]...)
		b = b[5+n:]
	}
	p.MessageLength = len(msg)
	s := cryptobyte.String(msg)
	var typ uint8
	var body, sid, suites, comp cryptobyte.String
	if !s.ReadUint8(&typ) || typ != typeClientHello || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		t.Fatalf("not one ClientHello message")
	}
	if !body.ReadUint16(&p.Version) || !body.CopyBytes(p.Random[:]) || !body.ReadUint8LengthPrefixed(&sid) ||
		!body.ReadUint16LengthPrefixed(&suites) || !body.ReadUint8LengthPrefixed(&comp) {
		t.Fatalf("truncated ClientHello")
	}
	p.SessionID, p.Compression = []byte(sid), []byte(comp)
	for !suites.Empty() {
		var c uint16
		if !suites.ReadUint16(&c) {
			t.Fatalf("odd cipher suite list")
		}
		p.Suites = append(p.Suites, c)
	}
	if body.Empty() {
		return p
	}
	p.HasExtensions, p.Ext = true, map[uint16][]byte{}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		t.Fatalf("bad extensions block")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			t.Fatalf("bad extension")
		}
		if _, dup := p.Ext[typ]; dup {
			t.Fatalf("extension %d twice", typ)
		}
		p.ExtOrder = append(p.ExtOrder, typ)
		p.Ext[typ] = []byte(data)
	}
	return p
}

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, byte(v>>8), byte(v))
	}
	return b
}

func sniExt(name string) []byte {
	n := len(name)
	return append([]byte{byte((n + 3) >> 8), byte(n + 3), 0, byte(n >> 8), byte(n)}, name...)
}

func TestClientHelloExtensions(t *testing.T) {
	sigs := append([]byte{byte(2 * len(defaultSignatureSchemes) >> 8), byte(2 * len(defaultSignatureSchemes))}, u16s(defaultSignatureSchemes...)...)
	tests := []struct {
		name      string
		hello     ClientHello
		wantOrder []uint16
		want      map[uint16][]byte // checked exactly for these types
	}{
		{
			name:      "tls12 with name",
			hello:     ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02F, 0x000A}, ServerName: "www.example.org", Groups: []uint16{29, 23}},
			wantOrder: []uint16{extServerName, extExtendedMasterSecret, extRenegotiationInfo, extSupportedGroups, extECPointFormats, extSessionTicket, extSignatureAlgorithms},
			want: map[uint16][]byte{
				extServerName:           sniExt("www.example.org"),
				extSupportedGroups:      {0, 4, 0, 29, 0, 23},
				extECPointFormats:       {1, 0},
				extRenegotiationInfo:    {0},
				extExtendedMasterSecret: {},
				extSignatureAlgorithms:  sigs,
			},
		},
		{
			name:      "trailing dot dropped",
			hello:     ClientHello{Version: 0x0303, CipherSuites: []uint16{1}, ServerName: "example.org."},
			wantOrder: []uint16{extServerName, extExtendedMasterSecret, extRenegotiationInfo, extECPointFormats, extSessionTicket, extSignatureAlgorithms},
			want:      map[uint16][]byte{extServerName: sniExt("example.org")},
		},
		{
			name:      "ipv4 literal gets no sni",
			hello:     ClientHello{Version: 0x0303, CipherSuites: []uint16{1}, ServerName: "192.0.2.7"},
			wantOrder: []uint16{extExtendedMasterSecret, extRenegotiationInfo, extECPointFormats, extSessionTicket, extSignatureAlgorithms},
		},
		{
			name:      "ipv6 literal gets no sni",
			hello:     ClientHello{Version: 0x0303, CipherSuites: []uint16{1}, ServerName: "[2001:db8::1]"},
			wantOrder: []uint16{extExtendedMasterSecret, extRenegotiationInfo, extECPointFormats, extSessionTicket, extSignatureAlgorithms},
		},
		{
			name: "tls13 offer",
			hello: ClientHello{Version: 0x0303, SessionID: bytes.Repeat([]byte{7}, 32), CipherSuites: []uint16{0x1301},
				ServerName: "a.example", Groups: []uint16{0x11EC, 29}, SupportedVersions: []uint16{0x0304}, SignatureSchemes: []uint16{0x0804}},
			wantOrder: []uint16{extServerName, extExtendedMasterSecret, extRenegotiationInfo, extSupportedGroups, extECPointFormats,
				extSessionTicket, extSignatureAlgorithms, extSupportedVersions, extPSKKeyExchangeModes, extKeyShare},
			want: map[uint16][]byte{
				extSupportedVersions:   {2, 3, 4},
				extPSKKeyExchangeModes: {1, 1},
				extKeyShare:            {0, 0},
				extSignatureAlgorithms: {0, 2, 8, 4},
				extSupportedGroups:     {0, 4, 0x11, 0xEC, 0, 29},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.hello.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p := parseClientHello(t, b)
			order := slices.DeleteFunc(slices.Clone(p.ExtOrder), func(e uint16) bool { return e == extPadding })
			if diff := cmp.Diff(tt.wantOrder, order); diff != "" {
				t.Errorf("extensions (-want +got):\n%s", diff)
			}
			for typ, want := range tt.want {
				if diff := cmp.Diff(want, p.Ext[typ]); diff != "" {
					t.Errorf("extension %d (-want +got):\n%s", typ, diff)
				}
			}
			if diff := cmp.Diff(tt.hello.CipherSuites, p.Suites); diff != "" {
				t.Errorf("suites (-want +got):\n%s", diff)
			}
			if p.Version != tt.hello.Version || !bytes.Equal(p.SessionID, tt.hello.SessionID) || !bytes.Equal(p.Compression, []byte{0}) {
				t.Errorf("version 0x%04x, session id %x, compression %x", p.Version, p.SessionID, p.Compression)
			}
			if diff := cmp.Diff([]uint16{0x0301}, p.RecordVersions); diff != "" {
				t.Errorf("record versions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSSLv3HelloGolden checks an SSLv3 hello byte for byte: no extensions
// block at all, record version 3.0.
func TestSSLv3HelloGolden(t *testing.T) {
	h := ClientHello{Version: 0x0300, CipherSuites: []uint16{0x000A, 0x0005}, ServerName: "ignored.example", Groups: []uint16{23}, NoExtensions: true}
	for i := range h.Random {
		h.Random[i] = byte(i)
	}
	got, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "160300002f0100002b0300" + hex.EncodeToString(h.Random[:]) + "00" + "0004000a0005" + "0100"
	if hex.EncodeToString(got) != want {
		t.Errorf("SSLv3 hello\n got %x\nwant %s", got, want)
	}
}

// TestPadding checks RFC 7685 padding for every hello size around the
// danger zone: neither the handshake message nor the record may be 256 to
// 511 bytes long, and padding appears only when it is needed.
func TestPadding(t *testing.T) {
	for n := 1; n < 300; n++ {
		for _, name := range []string{"", "a.example", "a-much-longer-host-name.subdomain.example.org"} {
			h := ClientHello{Version: 0x0303, CipherSuites: make([]uint16, n), ServerName: name}
			b, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p := parseClientHello(t, b)
			for _, l := range append([]int{p.MessageLength}, p.RecordLengths...) {
				if l >= 256 && l < 512 {
					t.Fatalf("%d suites, name %q: length %d is in 256..511", n, name, l)
				}
			}
			unpadded := p.MessageLength
			if pad, ok := p.Ext[extPadding]; ok {
				unpadded -= 4 + len(pad)
				if unpadded+5 < 256 || unpadded >= 512 || slices.ContainsFunc(pad, func(c byte) bool { return c != 0 }) {
					t.Fatalf("%d suites, name %q: needless or non-zero padding (%d bytes unpadded)", n, name, unpadded)
				}
			}
		}
	}
}

func TestRecordSplit(t *testing.T) {
	h := ClientHello{Version: 0x0303, CipherSuites: make([]uint16, 9000)}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := parseClientHello(t, b)
	if len(p.RecordLengths) != 2 || p.RecordLengths[0] != 5+MaxRecordPayload {
		t.Errorf("record lengths %v, want a full record and the rest", p.RecordLengths)
	}
	if len(p.Suites) != 9000 {
		t.Errorf("%d suites read back, want 9000", len(p.Suites))
	}
}

func TestClientHelloErrors(t *testing.T) {
	for _, h := range []ClientHello{
		{Version: 0x0303},
		{Version: 0x0303, CipherSuites: []uint16{1}, SessionID: make([]byte, 33)},
		{Version: 0x0303, CipherSuites: make([]uint16, 40000)},
	} {
		if b, err := h.Marshal(); err == nil {
			t.Errorf("Marshal(%d suites, %d-byte session id) = %d bytes, want an error", len(h.CipherSuites), len(h.SessionID), len(b))
		}
	}
}

func ExampleClientHello_Marshal() {
	h := ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02F}, ServerName: "example.org", Groups: []uint16{29}}
	b, _ := h.Marshal()
	fmt.Printf("record type %d, version %x, %d bytes\n", b[0], b[1:3], len(b))
	// Output: record type 22, version 0301, 157 bytes
}
