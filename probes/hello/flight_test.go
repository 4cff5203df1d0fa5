package hello

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClientHelloCompressionAndExtra checks the offered compression
// methods and the extra extensions land where RFC 5246 puts them.
func TestClientHelloCompressionAndExtra(t *testing.T) {
	ch := &ClientHello{Version: 0x0303, CipherSuites: []uint16{0x002f}, CompressionMethods: []uint8{1, 0},
		Extra: []Extension{{Type: 15, Data: []byte{1}}}}
	rec, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := rec[5+4:]
	comp := body[2+32+1+2+2:]
	if diff := cmp.Diff([]byte{2, 1, 0}, comp[:3]); diff != "" {
		t.Errorf("compression methods (-want +got):\n%s", diff)
	}
	if !bytes.Contains(comp[3:], []byte{0, 15, 0, 1, 1}) {
		t.Errorf("heartbeat extension missing from % x", comp[3:])
	}
}

// TestClientHelloExtraReplaces checks an extra extension of a type the
// hello sends itself replaces it once, in place.
func TestClientHelloExtraReplaces(t *testing.T) {
	ch := &ClientHello{Version: 0x0303, CipherSuites: []uint16{0x002f},
		Extra: []Extension{{Type: extRenegotiationInfo, Data: []byte{2, 0xaa, 0xbb}}}}
	rec, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(rec, []byte{0xff, 0x01}); n != 1 {
		t.Errorf("%d renegotiation_info extensions in % x", n, rec)
	}
	// In place: right after extended_master_secret, as the hello sends it.
	if !bytes.Contains(rec, []byte{0, extExtendedMasterSecret, 0, 0, 0xff, 0x01, 0, 3, 2, 0xaa, 0xbb}) {
		t.Errorf("renegotiation_info not replaced in % x", rec)
	}
}

// TestReadHandshake reads a whole first flight and the extension bodies
// of its ServerHello.
func TestReadHandshake(t *testing.T) {
	sh := []byte{3, 3}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, 0x00, 0x2f, 0, 0, 9, 0xff, 0x01, 0, 1, 0, 0, 16, 0, 0)
	flight := append([]byte{2, 0, 0, byte(len(sh))}, sh...)
	flight = append(flight, 11, 0, 0, 3, 0, 0, 0, 13, 0, 0, 4, 1, 1, 0, 0, 14, 0, 0, 0)
	data := append(Record(RecordHandshake, 0x0303, flight), 0x17) // trailing bytes are not read
	hs, err := ReadHandshake(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint8
	for _, m := range hs.Messages {
		types = append(types, m.Type)
	}
	if diff := cmp.Diff([]uint8{MsgServerHello, MsgCertificate, MsgCertificateRequest, MsgServerHelloDone}, types); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if hs.Bytes != len(data)-1 {
		t.Errorf("read %d bytes, want %d", hs.Bytes, len(data)-1)
	}
	bodies, err := ExtensionBodies(hs.Messages[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint16][]byte{0xff01: {0}, 16: {}}, bodies); diff != "" {
		t.Errorf("extension bodies (-want +got):\n%s", diff)
	}
}
