package hello

import (
	"bytes"
	"testing"
)

// FuzzReadHandshake reads arbitrary bytes as a whole first flight: no
// panic, never more bytes than allowed, and the ServerHello first.
func FuzzReadHandshake(f *testing.F) {
	sh := []byte{3, 3}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, 0x00, 0x2f, 0, 0, 5, 0xff, 0x01, 0, 1, 0)
	flight := append([]byte{2, 0, 0, byte(len(sh))}, sh...)
	flight = append(flight, 14, 0, 0, 0)
	f.Add(append([]byte{22, 3, 3, 0, byte(len(flight))}, flight...))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 12
		hs, _ := ReadHandshake(bytes.NewReader(data), limit)
		if hs.Bytes > limit {
			t.Fatalf("read %d bytes, limit %d", hs.Bytes, limit)
		}
		if hs.ServerHello != nil {
			if len(hs.Messages) == 0 || hs.Messages[0].Type != MsgServerHello {
				t.Fatalf("messages %v do not start with the ServerHello", hs.Messages)
			}
			if _, err := ExtensionBodies(hs.Messages[0].Body); err != nil {
				t.Fatalf("a ServerHello that parsed has unreadable extensions: %v", err)
			}
		}
	})
}
