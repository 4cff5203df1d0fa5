package probes

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

func TestJudgeReply(t *testing.T) {
	sh := func(version, supported, suite uint16, hrr bool) *hello.Flight {
		return &hello.Flight{ServerHello: &hello.ServerHello{Version: max(version, supported), LegacyVersion: version,
			SupportedVersion: supported, CipherSuite: suite, HelloRetryRequest: hrr}}
	}
	offered := []uint16{0xC02F, 0x1301}
	tests := []struct {
		name   string
		v      tlswarden.Version
		f      *hello.Flight
		err    error
		want   helloVerdict
		closed bool
	}{
		{"same version", tlswarden.TLS12, sh(0x0303, 0, 0xC02F, false), nil, verdictAccepted, false},
		{"error after the hello", tlswarden.TLS12, sh(0x0303, 0, 0xC02F, false), io.ErrUnexpectedEOF, verdictAccepted, false},
		{"lower version", tlswarden.TLS12, sh(0x0301, 0, 0xC02F, false), nil, verdictOtherVersion, false},
		{"higher version", tlswarden.TLS10, sh(0x0303, 0, 0xC02F, false), nil, verdictFailed, false},
		{"tls 1.3 to a tls 1.2 hello", tlswarden.TLS12, sh(0x0303, 0x0304, 0x1301, false), nil, verdictFailed, false},
		{"suite not offered", tlswarden.TLS12, sh(0x0303, 0, 0x002F, false), nil, verdictFailed, false},
		{"retry request to a tls 1.2 hello", tlswarden.TLS12, sh(0x0303, 0x0304, 0x1301, true), nil, verdictFailed, false},
		{"retry request", tlswarden.TLS13, sh(0x0303, 0x0304, 0x1301, true), nil, verdictAccepted, false},
		{"tls 1.2 answer to tls 1.3", tlswarden.TLS13, sh(0x0303, 0, 0x1301, false), nil, verdictOtherVersion, false},
		{"tls 1.3 without supported_versions", tlswarden.TLS13, sh(0x0304, 0, 0x1301, false), nil, verdictFailed, false},
		{"protocol_version alert", tlswarden.TLS11, &hello.Flight{}, &hello.AlertError{Level: 2, Description: 70}, verdictOtherVersion, false},
		{"handshake_failure alert", tlswarden.TLS11, &hello.Flight{}, &hello.AlertError{Level: 2, Description: 40}, verdictRefused, false},
		{"closed", tlswarden.TLS11, &hello.Flight{}, io.EOF, verdictRefused, true},
		{"timeout", tlswarden.TLS11, &hello.Flight{}, os.ErrDeadlineExceeded, verdictFailed, false},
		{"garbage", tlswarden.TLS11, &hello.Flight{}, &tlswarden.ProtocolError{Msg: "x"}, verdictFailed, false},
		{"dial error", tlswarden.TLS11, nil, errors.New("dial: no route"), verdictFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := judgeReply(tt.v, offered, tt.f, tt.err)
			if a.verdict != tt.want || a.closed != tt.closed {
				t.Errorf("verdict %d closed %v, want %d %v (err %v)", a.verdict, a.closed, tt.want, tt.closed, a.err)
			}
			if a.verdict != verdictAccepted && a.err == nil {
				t.Error("no error explains the verdict")
			}
		})
	}
	compressed := sh(0x0303, 0, 0xC02F, false)
	compressed.ServerHello.Compression = 1
	if a := judgeReply(tlswarden.TLS12, offered, compressed, nil); a.verdict != verdictFailed {
		t.Errorf("compression accepted: %+v", a)
	}
}

func TestVersionStatus(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want tlswarden.Status
	}{
		{nil, tlswarden.StatusOK},
		{os.ErrDeadlineExceeded, tlswarden.StatusTimeout},
		{io.EOF, tlswarden.StatusReset},
		{&tlswarden.ProtocolError{Msg: "x"}, tlswarden.StatusProtocolError},
		{&hello.AlertError{Level: 2, Description: 40}, tlswarden.StatusHandshakeError},
		{errors.New("other"), tlswarden.StatusError},
	} {
		if got := tlswarden.StatusOf(tt.err); got != tt.want {
			t.Errorf("tlswarden.StatusOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
