// Package hello writes ClientHello messages and reads what a server sends
// back up to its ServerHello (and, for DHE and ECDHE suites, its
// ServerKeyExchange), for SSLv2 to TLS 1.3.
//
// It is the wire half of the TLS probe and never opens a connection: it
// turns parameters into bytes and bytes from an io.Reader into typed values,
// so every rule of the format is tested, and fuzzed, without sockets.
// Anything a server sends that does not parse is a *tlswarden.ProtocolError;
// a TLS alert is an *AlertError. Reads are bounded in size; bounding them in
// time is the caller's job (a connection deadline).
package hello

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Record content types (RFC 5246, section 6.2.1).
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23
)

// Handshake message types (RFC 5246, section 7.4; RFC 6066).
const (
	typeHelloRequest       = 0
	typeClientHello        = 1
	typeServerHello        = 2
	typeCertificate        = 11
	typeServerKeyExchange  = 12
	typeCertificateRequest = 13
	typeServerHelloDone    = 14
	typeCertificateStatus  = 22
	typeSupplementalData   = 23
)

// Extension types (IANA "TLS ExtensionType Values").
const (
	extServerName           = 0
	extSupportedGroups      = 10
	extECPointFormats       = 11
	extSignatureAlgorithms  = 13
	extPadding              = 21
	extExtendedMasterSecret = 23
	extSessionTicket        = 35
	extSupportedVersions    = 43
	extPSKKeyExchangeModes  = 45
	extKeyShare             = 51
	extRenegotiationInfo    = 0xff01
)

// MaxRecordPayload is the largest plaintext record fragment (2^14 bytes).
const MaxRecordPayload = 16384

// defaultSignatureSchemes is broad on purpose: old servers only sign with
// SHA-1, new ones with RSA-PSS or EdDSA, and a server that finds none of its
// schemes offered may refuse a suite it supports.
var defaultSignatureSchemes = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256, _secp384r1_sha384, _secp521r1_sha512
	0x0807, 0x0808, // ed25519, ed448
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256, _sha384, _sha512
	0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256, _sha384, _sha512
	0x081a, 0x081b, 0x081c, // ecdsa_brainpoolP256r1tls13_sha256, P384, P512
	0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256, _sha384, _sha512
	0x0303, 0x0301, 0x0302, // ecdsa_sha224, rsa_sha224, dsa_sha224
	0x0402, 0x0502, 0x0602, // dsa_sha256, _sha384, _sha512
	0x0203, 0x0201, 0x0202, // ecdsa_sha1, rsa_pkcs1_sha1, dsa_sha1
}

// DefaultSignatureSchemes returns the signature_algorithms a ClientHello
// offers when it names none.
func DefaultSignatureSchemes() []uint16 { return append([]uint16(nil), defaultSignatureSchemes...) }

// ClientHello describes a ClientHello to write. Marshal turns it into
// records ready to send.
type ClientHello struct {
	// Version is the legacy_version field: the highest version offered for
	// TLS 1.2 and older, 0x0303 for a TLS 1.3 offer.
	Version uint16
	// RecordVersion is the version in the record headers. Zero means
	// TLS 1.0 (0x0301), or Version when that is lower (an SSLv3 hello), as
	// clients write it for compatibility.
	RecordVersion uint16
	Random        [32]byte
	// SessionID is empty for TLS 1.2 and older; a TLS 1.3 client sends 32
	// random bytes for middlebox compatibility.
	SessionID    []byte
	CipherSuites []uint16
	// ServerName is sent in server_name unless it is empty or an IP literal
	// (RFC 6066 forbids literals). A trailing dot is dropped.
	ServerName string
	// Groups is sent in supported_groups when not empty.
	Groups []uint16
	// SignatureSchemes is sent in signature_algorithms; nil means
	// DefaultSignatureSchemes.
	SignatureSchemes []uint16
	// SupportedVersions, when not empty, makes this a TLS 1.3 offer: it is
	// sent in supported_versions, with psk_key_exchange_modes and an empty
	// key_share, so that a TLS 1.3 server answers with a HelloRetryRequest
	// naming its group.
	SupportedVersions []uint16
	// NoExtensions leaves the extensions out entirely, as an SSLv3 client
	// does.
	NoExtensions bool
	// CompressionMethods are offered instead of null alone when not empty
	// (a CRIME test offers deflate, 1, then null).
	CompressionMethods []uint8
	// Extra extensions are sent after the usual ones, before padding; one
	// of a type the hello sends itself (session_ticket with a ticket,
	// renegotiation_info with the verify data of a renegotiation) replaces
	// it in place.
	Extra []Extension
}

// Extension is one ClientHello extension: its type and body.
type Extension struct {
	Type uint16
	Data []byte
}

// extension is one extension's type and body.
type extension struct {
	typ  uint16
	data []byte
}

// Marshal returns the ClientHello as one or more handshake records. Unless
// NoExtensions is set, it adds a padding extension (RFC 7685) so that no
// record is between 256 and 511 bytes long, lengths some load balancers
// mishandle.
func (h *ClientHello) Marshal() ([]byte, error) {
	if len(h.SessionID) > 32 {
		return nil, fmt.Errorf("client hello: session id of %d bytes, at most 32 allowed", len(h.SessionID))
	}
	if len(h.CipherSuites) == 0 {
		return nil, errors.New("client hello: no cipher suites")
	}
	var exts []extension
	if !h.NoExtensions {
		exts = h.extensions()
	}
	out, _, err := h.marshal(exts)
	return out, err
}

func (h *ClientHello) recordVersion() uint16 {
	switch {
	case h.RecordVersion != 0:
		return h.RecordVersion
	case h.Version != 0 && h.Version < 0x0301:
		return h.Version
	}
	return 0x0301
}

// paddingFor returns the padding extension body length that takes a
// handshake message of n bytes out of the 256–511 range, or -1 when none is
// needed. The range is widened by the 5-byte record header so that neither
// the message nor the whole record lands in it.
func paddingFor(n int) int {
	const low, target = 256 - 5, 512
	if n < low || n >= target {
		return -1
	}
	return max(0, target-n-4)
}

// marshal writes the hello with the given extensions, and a padding
// extension after them when the length asks for one (never with
// NoExtensions), and returns the records to send and the handshake
// message in them (header included). It runs once per connection the
// probes open, so it writes into one buffer, a record header's room
// first, without a builder per length prefix.
func (h *ClientHello) marshal(exts []extension) (out, msg []byte, err error) {
	size := 5 + 4 + 2 + 32 + 1 + len(h.SessionID) + 2 + 2*len(h.CipherSuites) + 1 + max(1, len(h.CompressionMethods)) + 2
	for _, e := range exts {
		size += 4 + len(e.data)
	}
	if n := paddingFor(size - 5); n >= 0 && !h.NoExtensions {
		size += 4 + n
	}
	w := writer{b: make([]byte, 5, size)}
	w.b = append(w.b, typeClientHello)
	body := w.begin(3)
	w.b = binary.BigEndian.AppendUint16(w.b, h.Version)
	w.b = append(w.b, h.Random[:]...)
	sid := w.begin(1)
	w.b = append(w.b, h.SessionID...)
	w.end(sid, 1)
	w.b = appendUint16List(&w, h.CipherSuites)
	if len(h.CompressionMethods) > 0 {
		l := w.begin(1)
		w.b = append(w.b, h.CompressionMethods...)
		w.end(l, 1)
	} else {
		w.b = append(w.b, 1, 0) // one compression method, null
	}
	if !h.NoExtensions {
		list := w.begin(2)
		for _, e := range exts {
			w.b = binary.BigEndian.AppendUint16(w.b, e.typ)
			l := w.begin(2)
			w.b = append(w.b, e.data...)
			w.end(l, 2)
		}
		if n := paddingFor(len(w.b) - 5); n >= 0 {
			w.b = binary.BigEndian.AppendUint16(w.b, extPadding)
			w.b = binary.BigEndian.AppendUint16(w.b, uint16(n))
			w.b = append(w.b, make([]byte, n)...)
		}
		w.end(list, 2)
	}
	w.end(body, 3)
	if w.err != nil {
		return nil, nil, fmt.Errorf("client hello: %w", w.err)
	}
	msg = w.b[5:]
	if len(msg) > MaxRecordPayload {
		return records(recordHandshake, h.recordVersion(), msg), msg, nil
	}
	v := h.recordVersion()
	w.b[0], w.b[1], w.b[2], w.b[3], w.b[4] = recordHandshake, byte(v>>8), byte(v), byte(len(msg)>>8), byte(len(msg))
	return w.b, msg, nil
}

// writer appends to b, with length prefixes filled in when what they
// count has been written; err is the first prefix too short for its
// length.
type writer struct {
	b   []byte
	err error
}

// begin makes room for an n-byte length prefix and returns where what it
// counts starts.
func (w *writer) begin(n int) int {
	w.b = append(w.b, make([]byte, n)...)
	return len(w.b)
}

// end fills in the n-byte length prefix of what was written since begin
// returned start.
func (w *writer) end(start, n int) {
	l := len(w.b) - start
	if l >= 1<<(8*n) {
		if w.err == nil {
			w.err = fmt.Errorf("%d bytes do not fit a %d-byte length prefix", l, n)
		}
		return
	}
	for i := range n {
		w.b[start-1-i] = byte(l >> (8 * i))
	}
}

// appendUint16List appends a list of 16-bit values with a 16-bit length
// prefix.
func appendUint16List(w *writer, vs []uint16) []byte {
	l := w.begin(2)
	for _, v := range vs {
		w.b = binary.BigEndian.AppendUint16(w.b, v)
	}
	w.end(l, 2)
	return w.b
}

// extensions returns the extensions a modern client sends, in the order
// browsers send them, without padding, then h.Extra. Their bodies share
// one buffer.
func (h *ClientHello) extensions() []extension {
	exts := make([]extension, 0, 13+len(h.Extra))
	w := writer{b: make([]byte, 0, 128+2*len(h.Groups)+2*len(h.SignatureSchemes))}
	type span struct {
		typ   uint16
		start int
	}
	var spans [10]span
	n := 0
	add := func(typ uint16) { spans[n] = span{typ, len(w.b)}; n++ }
	if name := sniName(h.ServerName); name != "" {
		add(extServerName)
		list := w.begin(2)
		w.b = append(w.b, 0) // host_name
		l := w.begin(2)
		w.b = append(w.b, name...)
		w.end(l, 2)
		w.end(list, 2)
	}
	add(extExtendedMasterSecret)
	add(extRenegotiationInfo)
	w.b = append(w.b, 0) // empty renegotiated_connection
	if len(h.Groups) > 0 {
		add(extSupportedGroups)
		appendUint16List(&w, h.Groups)
	}
	add(extECPointFormats)
	w.b = append(w.b, 1, 0) // uncompressed
	add(extSessionTicket)
	schemes := h.SignatureSchemes
	if schemes == nil {
		schemes = defaultSignatureSchemes
	}
	add(extSignatureAlgorithms)
	appendUint16List(&w, schemes)
	if len(h.SupportedVersions) > 0 {
		add(extSupportedVersions)
		l := w.begin(1)
		for _, v := range h.SupportedVersions {
			w.b = binary.BigEndian.AppendUint16(w.b, v)
		}
		w.end(l, 1)
		add(extPSKKeyExchangeModes)
		w.b = append(w.b, 1, 1) // psk_dhe_ke
		add(extKeyShare)
		w.b = append(w.b, 0, 0) // no client shares
	}
	if w.err != nil {
		panic(fmt.Sprintf("client hello: extension: %v", w.err))
	}
	for i := range n {
		stop := len(w.b)
		if i+1 < n {
			stop = spans[i+1].start
		}
		exts = append(exts, extension{typ: spans[i].typ, data: w.b[spans[i].start:stop:stop]})
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

// sniName returns the name to send in server_name, or "" for none.
func sniName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return ""
	}
	return name
}

// records splits payload into records of at most MaxRecordPayload bytes.
func records(typ uint8, version uint16, payload []byte) []byte {
	out := make([]byte, 0, len(payload)+5*(len(payload)/MaxRecordPayload+1))
	for {
		n := min(len(payload), MaxRecordPayload)
		out = append(out, typ, byte(version>>8), byte(version), byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
		if len(payload) == 0 {
			return out
		}
	}
}
