package hello

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types, exported for the probes that read a whole
// first flight (RFC 5246, section 7.4).
const (
	MsgServerHello        = typeServerHello
	MsgCertificate        = typeCertificate
	MsgServerKeyExchange  = typeServerKeyExchange
	MsgCertificateRequest = typeCertificateRequest
	MsgServerHelloDone    = typeServerHelloDone
	MsgCertificateStatus  = typeCertificateStatus
)

// Record content types, exported for probes that write records after the
// hello (RFC 5246, section 6.2.1; RFC 6520 for heartbeat).
const (
	RecordChangeCipherSpec = recordChangeCipherSpec
	RecordAlert            = recordAlert
	RecordHandshake        = recordHandshake
	RecordApplicationData  = recordApplicationData
	RecordHeartbeat        = 24
)

// Message is one handshake message of a server's flight.
type Message struct {
	Type uint8
	Body []byte
}

// Handshake is a TLS 1.2-or-older server's first flight, read whole.
type Handshake struct {
	ServerHello *ServerHello
	// Messages lists every handshake message read, the ServerHello first.
	Messages []Message
	// Bytes counts the bytes read from the connection.
	Bytes int
}

// Message returns the first message of the given type, or nil.
func (h *Handshake) Message(typ uint8) *Message {
	for i := range h.Messages {
		if h.Messages[i].Type == typ {
			return &h.Messages[i]
		}
	}
	return nil
}

// ReadHandshake reads a TLS 1.2-or-older server's first flight, from the
// ServerHello through ServerHelloDone, keeping every message, within
// maxBytes (default DefaultMaxBytes). It stops early, without error, at a
// TLS 1.3 ServerHello or HelloRetryRequest (whose next messages are
// encrypted) and at a ChangeCipherSpec (an abbreviated handshake). It
// returns what it read even with an error.
func ReadHandshake(r io.Reader, maxBytes int) (*Handshake, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	rd := &recordReader{r: r, max: maxBytes}
	h := &Handshake{}
	err := readHandshake(rd, h)
	h.Bytes = rd.n
	return h, err
}

func readHandshake(rd *recordReader, h *Handshake) error {
	typ, body, err := rd.message()
	for err == nil && typ == typeHelloRequest && len(body) == 0 {
		typ, body, err = rd.message() // RFC 5246: ignored while negotiating
	}
	switch {
	case errors.Is(err, errChangeCipherSpec):
		return protocolError("change_cipher_spec before the ServerHello")
	case err != nil:
		return err
	case typ != typeServerHello:
		return protocolError("expected a ServerHello, got handshake message type %d", typ)
	}
	if h.ServerHello, err = parseServerHello(body); err != nil {
		return err
	}
	h.Messages = append(h.Messages, Message{Type: typ, Body: append([]byte(nil), body...)})
	if h.ServerHello.HelloRetryRequest || h.ServerHello.Version >= 0x0304 {
		return nil
	}
	for typ != typeServerHelloDone {
		typ, body, err = rd.message()
		if errors.Is(err, errChangeCipherSpec) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after the ServerHello: %w", err)
		}
		h.Messages = append(h.Messages, Message{Type: typ, Body: append([]byte(nil), body...)})
	}
	return nil
}

// ExtensionBodies returns the body of each extension of a ServerHello
// message body, by type.
func ExtensionBodies(serverHello []byte) (map[uint16][]byte, error) {
	s := cryptobyte.String(serverHello)
	var sid cryptobyte.String
	var skip []byte
	if !s.Skip(2+32) || !s.ReadUint8LengthPrefixed(&sid) || !s.ReadBytes(&skip, 3) {
		return nil, protocolError("ServerHello of %d bytes is truncated", len(serverHello))
	}
	out := map[uint16][]byte{}
	if s.Empty() {
		return out, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, protocolError("ServerHello extensions length does not match the message length")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, protocolError("ServerHello extension block is malformed")
		}
		out[typ] = append([]byte{}, data...)
	}
	return out, nil
}

// ReadRecordHeader reads one record header and returns its content type
// and length, without reading the body: enough to see what a server
// answered without taking in bytes it should not have sent.
func ReadRecordHeader(r io.Reader) (typ uint8, length int, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, fmt.Errorf("reading a record header: %w", err)
	}
	if hdr[1] != 3 {
		return 0, 0, protocolError("not a TLS record header: % x", hdr)
	}
	return hdr[0], int(hdr[3])<<8 | int(hdr[4]), nil
}

// ReadAlert reads records until an alert, within maxBytes, and returns it
// as an *AlertError; handshake records before it are skipped.
func ReadAlert(r io.Reader, maxBytes int) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	rd := &recordReader{r: r, max: maxBytes}
	for {
		typ, frag, err := rd.rawRecord()
		switch {
		case err != nil:
			return err
		case typ == recordAlert:
			return parseAlert(frag)
		case typ != recordHandshake:
			return protocolError("record of content type %d where an alert was expected", typ)
		}
	}
}

// Record returns one record of the given type and version holding payload
// (at most MaxRecordPayload bytes are sent per record).
func Record(typ uint8, version uint16, payload []byte) []byte {
	return records(typ, version, payload)
}
