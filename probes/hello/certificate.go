package hello

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden/iana"
)

// Reading the server's Certificate message from its flight, without a
// handshake library: over TLS 1.2 and older it travels in clear after the
// ServerHello, whatever suite was chosen (DHE, NULL, RSA key transport,
// suites no library implements); over TLS 1.3 it is encrypted under the
// server's handshake traffic key, which the client derives from its own
// ephemeral key share (RFC 8446 section 7). Either way the message may be
// as large as the caller allows, not the 64 KiB a handshake library caps
// a message at, and the client chooses freely which signature schemes it
// offers, which decides the certificate a server with several serves.

// More message and extension types read here.
const (
	typeEncryptedExtensions = 8
	extStatusRequest        = 5
	extSCT                  = 18
	extSignatureAlgsCert    = 50
)

// CertificateFlight is what ReadCertificate read of the server's flight.
type CertificateFlight struct {
	ServerHello *ServerHello
	// Certificates is the certificate_list as sent, DER, leaf first.
	Certificates [][]byte
	// MessageBytes is the length of the Certificate message's body.
	MessageBytes int
	// OCSPResponse is the stapled OCSP response: a CertificateStatus
	// message (TLS 1.2 and older) or the leaf entry's status_request
	// extension (TLS 1.3); nil when none came.
	OCSPResponse []byte
	// SCTs are the signed certificate timestamps of the ServerHello's
	// extension (TLS 1.2) or the leaf entry's (TLS 1.3).
	SCTs [][]byte
	// Bytes counts the bytes read from the connection.
	Bytes int
}

// CertificateHello is a ClientHello written to elicit a Certificate
// message. For a TLS 1.3 offer it holds the private halves of its key
// shares until the reply is read.
type CertificateHello struct {
	hello  ClientHello
	msg    []byte // the handshake message, for the TLS 1.3 transcript
	shares *keyShares
	// flight13 reads the rest of a TLS 1.3 flight after the Certificate
	// (ReadSignatureScheme).
	flight13 *tls13Records
}

// keyShareCurves are the groups a TLS 1.3 certificate hello sends shares
// for, and the only groups it offers: a server that supports none of them
// gets no offer it could answer with a HelloRetryRequest.
var keyShareCurves = []struct {
	group uint16
	curve ecdh.Curve
}{
	{0x001d, ecdh.X25519()}, {0x0017, ecdh.P256()}, {0x0018, ecdh.P384()}, {0x0019, ecdh.P521()},
}

// keyShares are the private halves of a set of key shares, one per
// keyShareCurves group, and the key_share extension's body that carries
// their public halves.
type keyShares struct {
	priv map[uint16]*ecdh.PrivateKey
	data []byte
	made time.Time
}

// keyShareLifetime is how long the certificate hellos of a process send
// one set of key shares. Making a set costs milliseconds of CPU (P-521's
// and P-384's key generation most of it), more than the rest of the
// hello's connection, and the shares protect nothing of ours: the client
// decrypts the server's flight to read its certificates and closes the
// connection before it sends a Finished or any data. The server's own share
// is fresh each time, so each connection still has a key schedule of its
// own; what the server sees, and what the probe finds, is the same.
const keyShareLifetime = time.Minute

// currentShares holds the set in use; sets are immutable, and an
// *ecdh.PrivateKey is safe for concurrent use.
var currentShares struct {
	sync.Mutex
	set *keyShares
}

// sharesNow returns the set of key shares to send, made anew once the
// current one is keyShareLifetime old.
func sharesNow() (*keyShares, error) {
	currentShares.Lock()
	defer currentShares.Unlock()
	if s := currentShares.set; s != nil && time.Since(s.made) < keyShareLifetime {
		return s, nil
	}
	s, err := newKeyShares()
	if err != nil {
		return nil, err
	}
	currentShares.set = s
	return s, nil
}

// newKeyShares makes a private key for every keyShareCurves group.
func newKeyShares() (*keyShares, error) {
	s := &keyShares{priv: make(map[uint16]*ecdh.PrivateKey, len(keyShareCurves)), made: time.Now()}
	b := cryptobyte.NewBuilder(nil)
	var err error
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, k := range keyShareCurves {
			priv, kerr := k.curve.GenerateKey(rand.Reader)
			if kerr != nil {
				err = kerr
				return
			}
			s.priv[k.group] = priv
			b.AddUint16(k.group)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(priv.PublicKey().Bytes()) })
		}
	})
	if err != nil {
		return nil, fmt.Errorf("certificate hello: key share: %w", err)
	}
	s.data = b.BytesOrPanic()
	return s, nil
}

// NewCertificateHello prepares h to elicit the server's certificates: it
// adds status_request and signed_certificate_timestamp (to get the
// staple and SCTs the server has), signature_algorithms_cert listing
// every scheme (so that h.SignatureSchemes narrows the leaf's key type
// only, not the signatures of the chain above it), and for a TLS 1.3
// offer (SupportedVersions set) key shares for X25519, P-256, P-384 and
// P-521, which become its only groups (the process's current set, see
// keyShareLifetime).
func NewCertificateHello(h ClientHello) (*CertificateHello, error) {
	c := &CertificateHello{hello: h}
	if len(h.SupportedVersions) > 0 {
		shares, err := sharesNow()
		if err != nil {
			return nil, err
		}
		c.shares = shares
		c.hello.Groups = make([]uint16, 0, len(keyShareCurves))
		for _, k := range keyShareCurves {
			c.hello.Groups = append(c.hello.Groups, k.group)
		}
	}
	return c, nil
}

// Marshal returns the ClientHello as records ready to send, with a fresh
// random (and session id for a TLS 1.3 offer).
func (c *CertificateHello) Marshal() ([]byte, error) {
	h := &c.hello
	if len(h.CipherSuites) == 0 {
		return nil, errors.New("certificate hello: no cipher suites")
	}
	rand.Read(h.Random[:])
	if len(h.SupportedVersions) > 0 {
		h.SessionID = make([]byte, 32)
		rand.Read(h.SessionID)
	}
	out, msg, err := h.marshal(c.extensions())
	if err != nil {
		return nil, err
	}
	c.msg = msg
	return out, nil
}

// extensions are the ClientHello's usual ones with the key shares filled
// in and the certificate-related ones added.
func (c *CertificateHello) extensions() []extension {
	exts := c.hello.extensions()
	for i := range exts {
		if exts[i].typ == extKeyShare && c.shares != nil {
			exts[i].data = c.shares.data
		}
	}
	return append(exts,
		extension{typ: extStatusRequest, data: []byte{1, 0, 0, 0, 0}}, // ocsp, no responder ids, no extensions
		extension{typ: extSCT},
		extension{typ: extSignatureAlgsCert, data: allSchemesList()},
	)
}

// allSchemesList is signature_algorithms_cert's body: every scheme of
// defaultSignatureSchemes.
var allSchemesList = sync.OnceValue(func() []byte {
	w := writer{}
	return appendUint16List(&w, defaultSignatureSchemes)
})

// ReadCertificate reads the server's reply to the hello from r, at most
// maxBytes (DefaultMaxBytes when not positive), up to and including its
// Certificate message (and over TLS 1.2 and older a CertificateStatus
// right after it). It returns what it read even with an error. A server
// that chose a suite without certificates (anonymous, PSK) gives an
// error after the ServerHello; so does a TLS 1.3 HelloRetryRequest. It
// reads ahead as ReadServerFlight does: r is not to be read again after it.
func (c *CertificateHello) ReadCertificate(r io.Reader, maxBytes int) (*CertificateFlight, error) {
	rd := &recordReader{r: r, max: orDefaultMax(maxBytes), ahead: newReadAhead()}
	defer rd.ahead.release()
	return c.readCertificateFrom(rd)
}

// readCertificateFrom is ReadCertificate over a reader of its caller's.
func (c *CertificateHello) readCertificateFrom(rd *recordReader) (*CertificateFlight, error) {
	if c.msg == nil {
		return nil, errors.New("certificate hello: read before marshal")
	}
	f := &CertificateFlight{}
	err := c.readCertificate(rd, f)
	if errors.Is(err, errChangeCipherSpec) {
		// The reader's sentinel is no error a caller can act on: a
		// ChangeCipherSpec where a handshake message belongs is a
		// protocol error (found by FuzzReadCertificate).
		err = protocolError("change_cipher_spec record where a handshake message was expected")
	}
	f.Bytes = rd.n
	return f, err
}

func (c *CertificateHello) readCertificate(rd *recordReader, f *CertificateFlight) error {
	typ, body, err := rd.message()
	for err == nil && typ == typeHelloRequest && len(body) == 0 {
		typ, body, err = rd.message()
	}
	if err != nil {
		return err
	}
	if typ != typeServerHello {
		return protocolError("expected a ServerHello, got handshake message type %d", typ)
	}
	if f.ServerHello, err = parseServerHello(body); err != nil {
		return err
	}
	switch sh := f.ServerHello; {
	case sh.HelloRetryRequest:
		return protocolError("server asked for key share group %s, which the certificate hello does not offer", iana.GroupName(sh.KeyShareGroup))
	case sh.Version >= 0x0304:
		return c.readTLS13(rd, f, body)
	}
	return readTLS12Certificate(rd, f, body)
}

// readTLS12Certificate reads the Certificate message after a TLS 1.2 or
// older ServerHello (shBody), then a CertificateStatus if the server said
// it would send one.
func readTLS12Certificate(rd *recordReader, f *CertificateFlight, shBody []byte) error {
	if sct, ok := serverHelloExtension(shBody, extSCT); ok {
		f.SCTs = parseSCTList(sct)
	}
	typ, body, err := rd.message()
	if err != nil {
		return fmt.Errorf("after the ServerHello: %w", err)
	}
	if typ != typeCertificate {
		return protocolError("server sent handshake message type %d instead of a Certificate (a suite without certificates)", typ)
	}
	f.MessageBytes = len(body)
	if f.Certificates, err = parseCertificateList(body); err != nil {
		return err
	}
	if _, ok := serverHelloExtension(shBody, extStatusRequest); !ok {
		return nil
	}
	typ, body, err = rd.message()
	if err != nil || typ != typeCertificateStatus {
		return nil // the certificates are what was asked for; a missing staple is no error
	}
	f.OCSPResponse = parseCertificateStatus(body)
	return nil
}

// parseCertificateList parses a TLS 1.2 Certificate message body: a
// 24-bit-length list of 24-bit-length certificates.
func parseCertificateList(body []byte) ([][]byte, error) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, protocolError("Certificate message of %d bytes is malformed", len(body))
	}
	var certs [][]byte
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || len(der) == 0 {
			return certs, protocolError("Certificate message entry is malformed")
		}
		certs = append(certs, append([]byte(nil), der...))
	}
	return certs, nil
}

// parseCertificateStatus returns the OCSP response of a CertificateStatus
// body (RFC 6066 section 8), or nil.
func parseCertificateStatus(body []byte) []byte {
	s := cryptobyte.String(body)
	var typ uint8
	var resp cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint24LengthPrefixed(&resp) || len(resp) == 0 {
		return nil
	}
	return append([]byte(nil), resp...)
}

// parseSCTList splits a SignedCertificateTimestampList (RFC 6962 3.3).
func parseSCTList(data []byte) [][]byte {
	s := cryptobyte.String(data)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) {
		return nil
	}
	var out [][]byte
	for !list.Empty() {
		var sct cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&sct) {
			return out
		}
		out = append(out, append([]byte(nil), sct...))
	}
	return out
}

// serverHelloExtension returns the body of extension typ in a ServerHello
// body that parseServerHello accepted.
func serverHelloExtension(body []byte, typ uint16) ([]byte, bool) {
	s := cryptobyte.String(body)
	var sid, exts cryptobyte.String
	if !s.Skip(2+32) || !s.ReadUint8LengthPrefixed(&sid) || !s.Skip(3) || !s.ReadUint16LengthPrefixed(&exts) {
		return nil, false
	}
	for !exts.Empty() {
		var t uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&t) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, false
		}
		if t == typ {
			return data, true
		}
	}
	return nil, false
}
