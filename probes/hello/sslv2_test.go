package hello

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func TestSSLv2ClientHelloGolden(t *testing.T) {
	var challenge [16]byte
	for i := range challenge {
		challenge[i] = byte(0xA0 + i)
	}
	got := hex.EncodeToString(SSLv2ClientHello(challenge))
	want := "802e" + "01" + "0002" + "0015" + "0000" + "0010" +
		"010080" + "020080" + "030080" + "040080" + "050080" + "060040" + "0700c0" +
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	if got != want {
		t.Errorf("SSLv2 CLIENT-HELLO\n got %s\nwant %s", got, want)
	}
}

// sslv2ServerHello returns an SSLv2 record holding a SERVER-HELLO.
func sslv2ServerHello(version uint16, cert []byte, specs []uint32, connID []byte) []byte {
	body := []byte{sslv2MsgServerHello, 0, 1, byte(version >> 8), byte(version),
		byte(len(cert) >> 8), byte(len(cert)), byte(3 * len(specs) >> 8), byte(3 * len(specs)), byte(len(connID) >> 8), byte(len(connID))}
	body = append(body, cert...)
	for _, s := range specs {
		body = append(body, byte(s>>16), byte(s>>8), byte(s))
	}
	body = append(body, connID...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

func TestReadSSLv2ServerHello(t *testing.T) {
	cert := bytes.Repeat([]byte{0x30}, 700)
	connID := bytes.Repeat([]byte{9}, 16)
	in := sslv2ServerHello(2, cert, []uint32{0x0700C0, 0x010080, 0x020080}, connID)
	sh, err := ReadSSLv2ServerHello(bytes.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &SSLv2ServerHello{CertificateType: 1, Version: 2, Certificate: cert, CipherSpecs: []uint32{0x0700C0, 0x010080, 0x020080}, ConnectionID: connID}
	if diff := cmp.Diff(want, sh); diff != "" {
		t.Errorf("SERVER-HELLO (-want +got):\n%s", diff)
	}
	var names []string
	for _, s := range sh.CipherSpecs {
		names = append(names, SSLv2CipherName(s))
	}
	if diff := cmp.Diff([]string{"SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "SSL_CK_RC4_128_WITH_MD5", "SSL_CK_RC4_128_EXPORT40_WITH_MD5"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if got := SSLv2CipherName(0x080080); got != "SSL_CK_UNKNOWN_0x080080" {
		t.Errorf("unknown kind named %q", got)
	}
}

func TestReadSSLv2ServerHelloErrors(t *testing.T) {
	good := sslv2ServerHello(2, []byte{1, 2}, []uint32{0x010080}, []byte{1})
	protocol := func(substr string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			t.Helper()
			var pe *tlswarden.ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), substr) {
				t.Errorf("err = %v, want a protocol error containing %q", err, substr)
			}
		}
	}
	tests := []struct {
		name  string
		in    []byte
		check func(*testing.T, error)
	}{
		{"closed", nil, func(t *testing.T, err error) {
			if !errors.Is(err, io.EOF) {
				t.Errorf("err = %v, want io.EOF", err)
			}
		}},
		{"tls alert", []byte{21, 3, 1, 0, 2, 2, 70}, func(t *testing.T, err error) {
			var ae *AlertError
			if !errors.Is(err, ErrTLSReply) || !errors.As(err, &ae) || ae.Description != AlertProtocolVersion {
				t.Errorf("err = %v, want ErrTLSReply with a protocol_version alert", err)
			}
		}},
		{"tls server hello", rec(recordHandshake, hs(typeServerHello, serverHello(0x0301, 0x002F, plainRandom))), func(t *testing.T, err error) {
			if !errors.Is(err, ErrTLSReply) {
				t.Errorf("err = %v, want ErrTLSReply", err)
			}
		}},
		{"truncated tls record", []byte{22, 3, 3, 0, 40, 2}, protocol("connection closed after 6 bytes")},
		{"sslv2 error", []byte{0x80, 3, 0, 0, 1}, func(t *testing.T, err error) {
			var se *SSLv2Error
			if !errors.As(err, &se) || se.Code != 1 {
				t.Errorf("err = %v, want SSLv2 error 1", err)
			}
		}},
		{"garbage", []byte("HTTP/1.0 400"), protocol("not an SSLv2 record header")},
		{"truncated record", good[:10], protocol("connection closed after 10 bytes")},
		{"wrong message", []byte{0x80, 2, 7, 0}, protocol("got message type 7")},
		{"wrong version", sslv2ServerHello(3, nil, []uint32{0x010080}, []byte{1}), protocol("version 0x0003")},
		{"lengths past the end", append([]byte{0x80, 11}, good[2:13]...), protocol("do not match")},
		{"specs not a multiple of three", func() []byte {
			b := bytes.Clone(good)
			b[10]-- // cipher specs length 3 -> 2
			return b
		}(), protocol("do not match")},
		{"truncated header", []byte{0x80, 4, 4, 0, 1, 0}, protocol("truncated")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := ReadSSLv2ServerHello(bytes.NewReader(tt.in), 0)
			if err == nil {
				t.Fatalf("no error; got %+v", sh)
			}
			tt.check(t, err)
		})
	}
}
