package vuln

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// CheckROBOT is the ROBOT check's name in Skipped.
const CheckROBOT = "robot"

// robotSuites are the RSA key exchange suites the ROBOT check offers.
var robotSuites = []uint16{0x002f, 0x0035, 0x009c, 0x009d, 0x003c, 0x003d, 0x000a}

// robotVariants are the encrypted premaster secrets the ROBOT check sends,
// as in the ROBOT paper (Böck, Somorovsky, Young, 2018): a well-formed one,
// then four with a PKCS #1 v1.5 flaw a constant-time server must not tell
// apart from it.
var robotVariants = []string{"well-formed", "wrong first bytes", "0x00 too early", "no 0x00 separator", "wrong version"}

// robotBlock returns the PKCS #1 v1.5 block of k bytes for variant i,
// holding a 48-byte premaster secret for TLS version v.
func robotBlock(i, k int, v uint16) []byte {
	b := make([]byte, k)
	pad := b[2 : k-49]
	for j := range pad {
		for pad[j] == 0 {
			var x [1]byte
			rand.Read(x[:])
			pad[j] = x[0]
		}
	}
	b[0], b[1], b[k-49] = 0, 2, 0
	b[k-48], b[k-47] = byte(v>>8), byte(v)
	rand.Read(b[k-46:])
	switch i {
	case 1:
		b[0], b[1] = 0x41, 0x17
	case 2:
		b[11] = 0 // the premaster secret comes out too long
	case 3:
		b[k-49] = 1
	case 4:
		b[k-48], b[k-47] = 0x02, 0x02
	}
	return b
}

// rsaEncrypt is textbook RSA: the padding is robotBlock's to get wrong.
func rsaEncrypt(pub *rsa.PublicKey, block []byte) []byte {
	m := new(big.Int).SetBytes(block)
	c := m.Exp(m, big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, len(block)))
}

// robot sends each variant on a connection of its own, followed by a
// ChangeCipherSpec and a Finished the server cannot decrypt, and compares
// the answers: a server that answers a flawed block otherwise than a
// well-formed one is a Bleichenbacher oracle. When they differ, the
// variants are sent once more, and only answers that repeat count: 5
// connections, 10 when the first round differs.
func (r *run) robot(ctx context.Context, v tlswarden.Version) *tlswarden.ROBOTResult {
	res := &tlswarden.ROBOTResult{}
	first, err := r.robotRound(ctx, v)
	if err == nil && first != nil && !allSame(first) {
		var again []string
		if again, err = r.robotRound(ctx, v); err == nil {
			res.Consistent = slices.Equal(first, again)
		}
	}
	switch {
	case errors.Is(err, errNoRSA):
		err = nil
	case first != nil:
		res.Tested, res.Answers = true, first
		res.Oracle = !allSame(first) && res.Consistent
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// errNoRSA reports a server without RSA key exchange: nothing to test.
var errNoRSA = errors.New("no RSA key exchange")

// robotRound sends every variant once and returns the answers in order.
func (r *run) robotRound(ctx context.Context, v tlswarden.Version) ([]string, error) {
	var answers []string
	for i := range robotVariants {
		a, err := r.robotOnce(ctx, v, i)
		if err != nil {
			return nil, err
		}
		answers = append(answers, a)
	}
	return answers, nil
}

func (r *run) robotOnce(ctx context.Context, v tlswarden.Version, variant int) (string, error) {
	var answer string
	err := r.session(ctx, func(conn net.Conn) error {
		if err := r.hello(conn, uint16(v), robotSuites); err != nil {
			return err
		}
		hs, err := hello.ReadHandshake(conn, 0)
		var alert *hello.AlertError
		if errors.As(err, &alert) {
			return errNoRSA // no RSA suite in common
		}
		if err != nil {
			return err
		}
		pub, err := rsaKeyOf(hs)
		if err != nil {
			return err
		}
		if err := r.send(conn, robotMessages(pub, uint16(v), variant)); err != nil {
			return err
		}
		answer, err = silence("", hello.ReadAlert(conn, 4096))
		return err
	})
	return answer, err
}

// robotMessages are the ClientKeyExchange, ChangeCipherSpec and a Finished
// of zeros (the keys are unknown, so it can only fail).
func robotMessages(pub *rsa.PublicKey, v uint16, variant int) []byte {
	k := (pub.N.BitLen() + 7) / 8
	enc := rsaEncrypt(pub, robotBlock(variant, k, v))
	cke := []byte{16, byte((len(enc) + 2) >> 16), byte((len(enc) + 2) >> 8), byte(len(enc) + 2), byte(len(enc) >> 8), byte(len(enc))}
	out := hello.Record(hello.RecordHandshake, v, append(cke, enc...))
	out = append(out, hello.Record(hello.RecordChangeCipherSpec, v, []byte{1})...)
	return append(out, hello.Record(hello.RecordHandshake, v, make([]byte, 64))...)
}

// rsaKeyOf returns the RSA key of the first certificate of a flight whose
// suite uses RSA key exchange.
func rsaKeyOf(hs *hello.Handshake) (*rsa.PublicKey, error) {
	if hs.Message(hello.MsgServerKeyExchange) != nil || !slices.Contains(robotSuites, hs.ServerHello.CipherSuite) {
		return nil, errNoRSA
	}
	m := hs.Message(hello.MsgCertificate)
	if m == nil {
		return nil, &tlswarden.ProtocolError{Msg: "no Certificate message with RSA key exchange"}
	}
	der, err := firstCertificate(m.Body)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &tlswarden.ProtocolError{Msg: "certificate: " + err.Error()}
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 512 || pub.N.BitLen() > 16384 {
		return nil, errNoRSA
	}
	return pub, nil
}

// firstCertificate returns the first certificate of a Certificate message
// body (RFC 5246 section 7.4.2).
func firstCertificate(body []byte) ([]byte, error) {
	s := cryptobyte.String(body)
	var list, cert cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() || !list.ReadUint24LengthPrefixed(&cert) || len(cert) == 0 {
		return nil, &tlswarden.ProtocolError{Msg: "Certificate message is malformed or empty"}
	}
	return cert, nil
}

func allSame(answers []string) bool {
	for _, a := range answers {
		if a != answers[0] {
			return false
		}
	}
	return true
}
