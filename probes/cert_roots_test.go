package probes

import (
	"bytes"
	stdx509 "crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"

	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

func pemOf(ders ...[]byte) []byte {
	var b bytes.Buffer
	for _, der := range ders {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return b.Bytes()
}

func TestRawSubject(t *testing.T) {
	ca := tlstest.NewCA(t, "Subject CA")
	for _, der := range [][]byte{
		ca.DER,
		ca.Issue(t, tlstest.CertSpec{Key: tlstest.RSA2048}).DER,
		ca.Issue(t, tlstest.CertSpec{Key: tlstest.Ed25519}).DER,
		ca.Intermediate(t, "Subject Intermediate").DER,
	} {
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := rawSubject(der)
		if !ok || !bytes.Equal(got, c.RawSubject) {
			t.Errorf("rawSubject = %x, %v; want zcrypto's %x", got, ok, c.RawSubject)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x30, 0x01, 0x00}, []byte("not DER at all")} {
		if got, ok := rawSubject(bad); ok {
			t.Errorf("rawSubject(%x) = %x, want not ok", bad, got)
		}
	}
}

// FuzzRawSubject: never panics, and agrees with zcrypto whenever zcrypto
// parses the bytes.
func FuzzRawSubject(f *testing.F) {
	ca := tlstest.NewCA(f, "Fuzz subject CA")
	f.Add(ca.DER)
	f.Add(ca.DER[:len(ca.DER)/2])
	f.Add([]byte{0x30, 0x80, 0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		got, ok := rawSubject(der)
		// What DER allows, rawSubject reads as Go's strict parser does.
		if std, err := stdx509.ParseCertificate(der); err == nil && (!ok || !bytes.Equal(got, std.RawSubject)) {
			t.Fatalf("rawSubject = %x, %v; crypto/x509 parsed the subject as %x", got, ok, std.RawSubject)
		}
		// zcrypto also takes some malformed DER (a version wrapper that
		// swallows the serial number, say); rawSubject may refuse those (the
		// root is then left out of the store), but what it reads agrees.
		if c, err := parseCert(der); err == nil && ok && !bytes.Equal(got, c.RawSubject) {
			t.Fatalf("rawSubject = %x; zcrypto parsed the subject as %x", got, c.RawSubject)
		}
	})
}

func TestRootStorePoolFor(t *testing.T) {
	a, b := tlstest.NewCA(t, "Root A"), tlstest.NewCA(t, "Root B")
	interA := a.Intermediate(t, "Intermediate under A")
	leafA := interA.Issue(t, tlstest.CertSpec{})
	leafB := b.Issue(t, tlstest.CertSpec{})
	// Duplicates and garbage are dropped, not indexed.
	s := newRootStore([][]byte{a.DER, b.DER, a.DER, []byte("junk")})
	if s.Len() != 2 {
		t.Fatalf("store holds %d anchors, want 2", s.Len())
	}
	parse := func(der []byte) *zx509.Certificate {
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	subjects := func(p *zx509.CertPool) []string {
		var out []string
		for _, c := range p.Certificates() {
			out = append(out, c.Subject.CommonName)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name  string
		chain []*zx509.Certificate
		want  []string
	}{
		{"leaf under an intermediate", []*zx509.Certificate{parse(leafA.DER), parse(interA.DER)}, []string{"Root A"}},
		{"leaf alone, issuer not an anchor", []*zx509.Certificate{parse(leafA.DER)}, nil},
		{"leaf under a root", []*zx509.Certificate{parse(leafB.DER)}, []string{"Root B"}},
		{"two paths", []*zx509.Certificate{parse(leafB.DER), parse(interA.DER)}, []string{"Root A", "Root B"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, subjects(s.poolFor(tt.chain))); diff != "" {
			t.Errorf("%s: anchors (-want +got):\n%s", tt.name, diff)
		}
	}
	// The store verifies end to end: the chain through A is trusted, a
	// chain to a CA outside the store is not.
	now := time.Now()
	got, err := certFacts([][]byte{leafA.DER, interA.DER}, nil, nil, "localhost", s, now)
	if err != nil || !got.Trusted || !got.ChainComplete {
		t.Errorf("chain under Root A: trusted %v, complete %v, err %v (%s)", got.Trusted, got.ChainComplete, err, got.VerificationError)
	}
	other := tlstest.NewCA(t, "Root C").Issue(t, tlstest.CertSpec{})
	got, err = certFacts([][]byte{other.DER}, nil, nil, "localhost", s, now)
	if err != nil || got.Trusted || got.VerificationError == "" {
		t.Errorf("chain under Root C: trusted %v, err %v", got.Trusted, err)
	}
}

func TestReadSystemRoots(t *testing.T) {
	a, b, c := tlstest.NewCA(t, "Bundle CA"), tlstest.NewCA(t, "Dir CA 1"), tlstest.NewCA(t, "Dir CA 2")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A bundle with a key block and a non-certificate beside the root.
	keyBlock := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	for name, content := range map[string][]byte{
		bundle:                               append(append(pemOf(a.DER), keyBlock...), "trailing text\n"...),
		filepath.Join(certDir, "b.pem"):      pemOf(b.DER),
		filepath.Join(certDir, "c.pem"):      pemOf(c.DER),
		filepath.Join(certDir, "README.txt"): []byte("not a certificate"),
	} {
		if err := os.WriteFile(name, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A hash link to b.pem (skipped: b.pem is read under its own name) and
	// a link out of the directory to the bundle (read).
	if err := os.Symlink("b.pem", filepath.Join(certDir, "0badc0de.0")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bundle, filepath.Join(certDir, "bundle-link.pem")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, dirs string
		want             [][]byte
		wantErr          bool
	}{
		{name: "bundle only", file: bundle, want: [][]byte{a.DER}},
		{name: "bundle and directory", file: bundle, dirs: certDir, want: [][]byte{a.DER, a.DER, b.DER, c.DER}},
		{name: "directories, one missing", file: filepath.Join(dir, "absent.pem"), dirs: filepath.Join(dir, "nope") + ":" + certDir, want: [][]byte{a.DER, b.DER, c.DER}},
		{name: "bundle is a directory", file: certDir, dirs: filepath.Join(dir, "nope"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSystemRoots(tt.file, tt.dirs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			slices.SortFunc(got, bytes.Compare)
			slices.SortFunc(tt.want, bytes.Compare)
			if !slices.EqualFunc(got, tt.want, bytes.Equal) {
				t.Errorf("read %d certificates, want %d", len(got), len(tt.want))
			}
		})
	}
}

// TestSystemRootsLoad: the machine's trust store (CI installs
// ca-certificates) reads into a store of distinct anchors without parsing
// them all up front.
func TestSystemRootsLoad(t *testing.T) {
	_, err := os.Stat(systemBundles[0])
	testenv.Need(t, "Debian's trust store (ca-certificates)", err)
	s, err := systemRoots()
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() < 10 {
		t.Fatalf("the system trust store holds %d certificates", s.Len())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.parsed) == s.Len() {
		t.Errorf("all %d anchors were parsed", s.Len())
	}
}

// TestEmudhraLintGating: the eMudhra lint is out of the general registry
// and alone in its own, so it runs only for the issuer names it can
// concern.
func TestEmudhraLintGating(t *testing.T) {
	if lintRegistry().ByName(emudhraLint) != nil {
		t.Errorf("%s is still in the general registry", emudhraLint)
	}
	if zlintCount := len(lint.GlobalRegistry().Names()); len(lintRegistry().Names()) >= zlintCount {
		t.Errorf("general registry has %d lints of zlint's %d: nothing filtered", len(lintRegistry().Names()), zlintCount)
	}
	if got := emudhraRegistry().Names(); !slices.Equal(got, []string{emudhraLint}) {
		t.Errorf("eMudhra registry holds %v", got)
	}
}
