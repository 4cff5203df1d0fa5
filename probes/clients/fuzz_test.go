package clients

import "testing"

// FuzzParseHello feeds the recorded hellos, mutated, to the parser and
// the rewriter: neither may panic, and a hello the rewriter accepts must
// parse again.
func FuzzParseHello(f *testing.F) {
	for _, id := range []string{"ie_6_xp", "ie_11_win7", "chrome_101_win10", "java1703"} {
		raw, _ := Load().Client(id).HelloBytes()
		f.Add(raw, "a.example")
	}
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		_, _ = ParseHello(raw)
		if len(name) > 255 {
			return
		}
		out, err := ForServer(raw, name)
		if err != nil || raw[0]&0x80 != 0 { // accepted, so not empty
			return
		}
		if _, err := ParseHello(out); err != nil {
			if _, orig := ParseHello(raw); orig == nil {
				t.Fatalf("rewritten hello does not parse: %v", err)
			}
		}
	})
}
