package probes

import (
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/zmap/zcrypto/x509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tlswarden/tlswarden"
)

// rootStore holds trust anchors as DER, indexed by their raw subject, and
// parses only those a chain can end at. zcrypto's parser costs about half a
// millisecond a certificate, so parsing a system bundle of ~150 roots (and
// the same roots again from /etc/ssl/certs, as zcrypto's own loader does)
// took most of a one-shot scan's time; a chain needs one or two.
//
// It keeps two trust stores apart: the public roots (the system's, which
// the CA/Browser Forum's rules govern) and the roots an organisation adds
// for its own CA (--ca-file), so that a chain anchored only at the latter
// is not judged by the public CAs' rules.
type rootStore struct {
	der       [][]byte
	bySubject map[string][]int
	bySum     map[[sha256.Size]byte]int
	// organisation marks the anchors (by index) that only the
	// organisation's roots hold.
	organisation map[int]bool

	mu     sync.Mutex
	parsed map[int]*x509.Certificate // by index into der; nil: not a certificate
}

// newRootStore indexes the given DER certificates as public roots,
// dropping duplicates and what has no readable subject.
func newRootStore(ders [][]byte) *rootStore { return newTrustStore(ders, nil) }

// newTrustStore indexes public and organisation roots; a root in both
// counts as public.
func newTrustStore(public, organisation [][]byte) *rootStore {
	s := &rootStore{bySubject: map[string][]int{}, bySum: map[[sha256.Size]byte]int{},
		organisation: map[int]bool{}, parsed: map[int]*x509.Certificate{}}
	for _, der := range public {
		s.add(der, false)
	}
	for _, der := range organisation {
		s.add(der, true)
	}
	return s
}

func (s *rootStore) add(der []byte, organisation bool) {
	sum := sha256.Sum256(der)
	subject, ok := rawSubject(der)
	if _, seen := s.bySum[sum]; !ok || seen {
		return
	}
	i := len(s.der)
	s.bySum[sum] = i
	s.organisation[i] = organisation
	s.bySubject[string(subject)] = append(s.bySubject[string(subject)], i)
	s.der = append(s.der, der)
}

// anchorKind says which trust store the roots that paths end at belong
// to: tlswarden.AnchorPublic when any of them is a public root,
// tlswarden.AnchorOrganisation when all are the organisation's, "" when
// there is none. A nil store is the system's: all public.
func (s *rootStore) anchorKind(roots []*x509.Certificate) string {
	kind := ""
	for _, r := range roots {
		i, known := -1, s == nil
		if s != nil {
			i, known = s.bySum[sha256.Sum256(r.Raw)]
		}
		switch {
		case !known:
			continue
		case s == nil || !s.organisation[i]:
			return tlswarden.AnchorPublic
		}
		kind = tlswarden.AnchorOrganisation
	}
	return kind
}

// Len returns the number of distinct anchors.
func (s *rootStore) Len() int { return len(s.der) }

// poolFor returns a pool of the anchors whose subject is the issuer of one
// of the given certificates: every anchor a path through them can end at.
func (s *rootStore) poolFor(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range certs {
		for _, i := range s.bySubject[string(c.RawIssuer)] {
			root, ok := s.parsed[i]
			if !ok {
				root, _ = parseCert(s.der[i])
				s.parsed[i] = root
			}
			if root != nil {
				pool.AddCert(root)
			}
		}
	}
	return pool
}

// rawSubject returns the DER of a certificate's subject name (tag and
// length included, as x509.Certificate.RawSubject) without parsing the rest
// (RFC 5280, section 4.1).
func rawSubject(der []byte) ([]byte, bool) {
	in := cryptobyte.String(der)
	var cert, tbs, subject cryptobyte.String
	ok := in.ReadASN1(&cert, asn1.SEQUENCE) &&
		cert.ReadASN1(&tbs, asn1.SEQUENCE) &&
		tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) && // version
		tbs.SkipASN1(asn1.INTEGER) && // serialNumber
		tbs.SkipASN1(asn1.SEQUENCE) && // signature
		tbs.SkipASN1(asn1.SEQUENCE) && // issuer
		tbs.SkipASN1(asn1.SEQUENCE) && // validity
		tbs.ReadASN1Element(&subject, asn1.SEQUENCE)
	return subject, ok
}

// sameDirLink reports whether e is a symbolic link to another entry of
// dir, as c_rehash's hash links (5ad8a5d6.0 -> Some_CA.pem) are: the file
// it names is read under its own name.
func sameDirLink(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}

// pemCertificates returns the DER of every CERTIFICATE block in b.
func pemCertificates(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" && len(block.Headers) == 0 {
			out = append(out, block.Bytes)
		}
	}
	return out
}

// System trust stores, as Go's crypto/x509 and OpenSSL look for them: the
// first bundle file found, then the hashed directories when there is none.
// SSL_CERT_FILE and SSL_CERT_DIR (colon-separated) override them.
var (
	systemBundles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, the container image
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // openSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
		"/etc/ssl/cert.pem",                                 // Alpine
	}
	systemDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// systemRoots is the system's trust store, read once per process.
var systemRoots = sync.OnceValues(func() (*rootStore, error) {
	ders, err := readSystemRoots(os.Getenv("SSL_CERT_FILE"), os.Getenv("SSL_CERT_DIR"))
	if err != nil {
		return nil, err
	}
	return newRootStore(ders), nil
})

// readSystemRoots reads the PEM certificates of the system's trust store:
// file (or the first of systemBundles that exists), and the files in dirs
// (colon-separated; systemDirs when no bundle was found). It fails only when
// nothing could be read and something was there to read.
func readSystemRoots(file, dirs string) ([][]byte, error) {
	var (
		ders     [][]byte
		firstErr error
	)
	files := systemBundles
	if file != "" {
		files = []string{file}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			ders = append(ders, pemCertificates(b)...)
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
			firstErr = fmt.Errorf("read trust store %s: %w", f, err)
		}
	}
	var dirList []string
	switch {
	case dirs != "":
		dirList = strings.Split(dirs, ":")
	case len(ders) == 0:
		dirList = systemDirs
	}
	for _, dir := range dirList {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = fmt.Errorf("read trust store %s: %w", dir, err)
			}
			continue
		}
		for _, e := range entries {
			if sameDirLink(dir, e) {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				ders = append(ders, pemCertificates(b)...)
			}
		}
	}
	if len(ders) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return ders, nil
}
