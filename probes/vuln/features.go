package vuln

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// Extension types the feature hello offers beyond probes/hello's own.
const (
	extStatusRequest  = 5
	extALPN           = 16
	extHeartbeat      = 15
	extEncryptThenMAC = 22
	extEMS            = 23
	extSessionTicket  = 35
	extRenegotiation  = 0xff01
)

// featureSuites are offered by every hello of this probe: what browsers,
// old and new, and common servers have, so that a server answers as it
// does to them. TLS 1.3 is never offered: the features are read from a
// TLS 1.2-or-older first flight, which is sent in the clear.
var featureSuites = []uint16{
	0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, // ECDHE AES-GCM, ChaCha20
	0xc023, 0xc027, 0xc024, 0xc028, 0xc009, 0xc013, 0xc00a, 0xc014, // ECDHE AES-CBC
	0x009e, 0x009f, 0xccaa, 0x0067, 0x006b, 0x0033, 0x0039, // DHE
	0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035, // RSA AES
	0xc012, 0x0016, 0x000a, 0xc011, 0x0005, 0x0004, // 3DES, RC4
}

// featureGroups are offered in supported_groups.
var featureGroups = []uint16{0x001d, 0x0017, 0x0018, 0x0019, 0x0100} // x25519, P-256, P-384, P-521, ffdhe2048

// clientHello returns a ClientHello offering versions up to max (a TLS
// 1.2-or-older code point) with a fresh random.
func (r *run) clientHello(max uint16, suites []uint16, extra ...hello.Extension) ([]byte, error) {
	ch := &hello.ClientHello{
		Version: max, CipherSuites: suites, ServerName: r.ep.Host, Groups: featureGroups, Extra: extra,
		NoExtensions: max < 0x0301,
	}
	rand.Read(ch.Random[:])
	return ch.Marshal()
}

// featureExtensions are the extensions of the feature hello beyond those
// every probes/hello ClientHello sends (server_name, extended master
// secret, renegotiation_info, supported_groups, ec_point_formats,
// session_ticket, signature_algorithms).
func featureExtensions() []hello.Extension {
	alpn := cryptobyte.NewBuilder(nil)
	alpn.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range []string{"h2", "http/1.1"} {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
		}
	})
	return []hello.Extension{
		{Type: extStatusRequest, Data: []byte{1, 0, 0, 0, 0}}, // ocsp, no responder ids, no extensions
		{Type: extALPN, Data: alpn.BytesOrPanic()},
		{Type: extEncryptThenMAC},
		{Type: extHeartbeat, Data: []byte{1}}, // peer_allowed_to_send
	}
}

// features sends the feature hello, offering deflate compression too, and
// reads the first flight. When the server answers the heartbeat
// extension, the Heartbleed check follows on the same connection: then
// heartbleed is that check, which the caller runs (its wait for silence
// need hold up no other check) and which closes the connection. Otherwise,
// unless the intrusive checks are off, the CCS injection check follows on
// it, as ccs, which the caller runs likewise (nil when it cannot: the
// check then needs a connection of its own).
func (r *run) features(ctx context.Context) (f *tlswarden.TLSFeatures, heartbleed func() *tlswarden.HeartbleedResult, ccs func() *tlswarden.CCSResult) {
	f = &tlswarden.TLSFeatures{}
	conn, done, err := r.open(ctx)
	if err == nil {
		var hs *hello.Handshake
		hs, err = r.featureHello(conn, f)
		err = r.ended(ctx, err)
		if err == nil {
			r.featureFlight = hs
		}
		switch {
		case err == nil && f.Heartbeat && !r.cfg.NoIntrusive:
			heartbleed = func() *tlswarden.HeartbleedResult {
				defer done()
				return r.heartbleed(conn, hs.ServerHello.Version)
			}
		case err == nil && !r.cfg.NoIntrusive && !r.separate:
			ccs = func() *tlswarden.CCSResult {
				defer done()
				res := &tlswarden.CCSResult{}
				res.Status, res.Error = statusOf(r.ended(ctx, r.injectCCS(conn, hs, f.Version, res)))
				return res
			}
		default:
			done()
		}
	}
	f.Status, f.Error = statusOf(err)
	return f, heartbleed, ccs
}

// featureHello sends the feature hello on conn, reads the first flight
// into f and returns it.
func (r *run) featureHello(conn net.Conn, f *tlswarden.TLSFeatures) (*hello.Handshake, error) {
	ch := &hello.ClientHello{
		Version: 0x0303, CipherSuites: featureSuites, ServerName: r.ep.Host, Groups: featureGroups,
		CompressionMethods: []uint8{1, 0}, Extra: featureExtensions(),
	}
	rand.Read(ch.Random[:])
	msg, err := ch.Marshal()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	hs, err := hello.ReadHandshake(conn, 0)
	if hs.ServerHello != nil {
		if perr := readFeatures(f, hs); perr != nil {
			return nil, perr
		}
	}
	if err != nil {
		return nil, err
	}
	return hs, nil
}

// readFeatures fills f from a first flight: the pure half of the feature
// check.
func readFeatures(f *tlswarden.TLSFeatures, hs *hello.Handshake) error {
	sh := hs.ServerHello
	f.Version, f.CipherSuite = tlswarden.Version(sh.Version), sh.CipherSuite
	f.SessionID = len(sh.SessionID) > 0
	f.Compression = compressionName(sh.Compression)
	bodies, err := hello.ExtensionBodies(hs.Messages[0].Body)
	if err != nil {
		return err
	}
	f.Extensions = []string{}
	for _, typ := range sh.Extensions {
		f.Extensions = append(f.Extensions, extensionName(typ))
	}
	_, f.SecureRenegotiation = bodies[extRenegotiation]
	_, f.ExtendedMasterSecret = bodies[extEMS]
	_, f.EncryptThenMAC = bodies[extEncryptThenMAC]
	_, f.SessionTicket = bodies[extSessionTicket]
	_, f.OCSPStapling = bodies[extStatusRequest]
	_, f.Heartbeat = bodies[extHeartbeat]
	if body, ok := bodies[extALPN]; ok {
		if f.ALPN, err = parseALPN(body); err != nil {
			return err
		}
	}
	if m := hs.Message(hello.MsgCertificateRequest); m != nil {
		if f.ClientCertificate, err = parseCertificateRequest(m.Body, sh.Version); err != nil {
			return err
		}
	}
	return nil
}

// parseALPN reads the one protocol a ServerHello's ALPN extension names
// (RFC 7301, section 3.1).
func parseALPN(body []byte) (string, error) {
	s := cryptobyte.String(body)
	var list, proto cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || !list.ReadUint8LengthPrefixed(&proto) || !list.Empty() || len(proto) == 0 {
		return "", &tlswarden.ProtocolError{Msg: "ServerHello ALPN extension is malformed"}
	}
	return string(proto), nil
}

func compressionName(m uint8) string {
	switch m {
	case 0:
		return "null"
	case 1:
		return "deflate"
	}
	return strconv.Itoa(int(m))
}

// extensionNames are the IANA names of extensions a ServerHello carries.
var extensionNames = map[uint16]string{
	0: "server_name", 1: "max_fragment_length", 5: "status_request", 10: "supported_groups",
	11: "ec_point_formats", 13: "signature_algorithms", 15: "heartbeat",
	16: "application_layer_protocol_negotiation", 18: "signed_certificate_timestamp",
	22: "encrypt_then_mac", 23: "extended_master_secret", 28: "record_size_limit", 35: "session_ticket",
	41: "pre_shared_key", 42: "early_data", 43: "supported_versions", 51: "key_share",
	0xff01: "renegotiation_info",
}

func extensionName(typ uint16) string {
	if n, ok := extensionNames[typ]; ok {
		return n
	}
	return strconv.Itoa(int(typ))
}
