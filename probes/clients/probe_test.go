package clients

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestHellosInParallel: against Go's server, whose suite order the
// enumeration cannot settle (it weighs the client's order and its own
// hardware), the open answers get the clients' own hellos, several at a
// time, each counted once, and read from the server's answers; with a
// budget of 3, three are sent and the rest say the budget was spent.
func TestHellosInParallel(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	er := endpointFacts(t, addr)
	for _, budget := range []int{0, 3} {
		res, err := run(t.Context(), Config{MaxHellos: budget, Timeout: 10 * time.Second}, tlstest.NewDialer(addr).Dial, er)
		if err != nil {
			t.Fatal(err)
		}
		var hello, spent int
		for _, r := range res.Clients {
			if r.Method == tlswarden.ClientHello {
				hello++
				if r.Connects && (r.Suite == nil || r.Version == 0) {
					t.Errorf("%s: read from its hello, but no version or suite: %+v", r.ID, r)
				}
			}
			for _, u := range r.Uncertain {
				if u == "the client's hello was not sent: the budget of hellos was spent" {
					spent++
				}
			}
		}
		want := budget
		if budget == 0 {
			want = DefaultMaxHellos
		}
		if res.Hellos == 0 || res.Hellos > want || hello != res.Hellos || res.Connections != res.Hellos {
			t.Errorf("budget %d: %d hellos, %d answers read from them, %d connections", budget, res.Hellos, hello, res.Connections)
		}
		if budget == 3 && (res.Hellos != 3 || spent == 0) {
			t.Errorf("budget 3: %d hellos, %d answers left estimated", res.Hellos, spent)
		}
		t.Logf("budget %d: %d of %d clients by their own hello, %d left to estimates", budget, res.Hellos, len(res.Clients), spent)
	}
}
