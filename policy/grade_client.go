package policy

import (
	"slices"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// referenceSuites is what the grade's reference client offers over TLS 1.2
// and TLS 1.1, in its order: the AES and ChaCha20 suites a current browser
// sends (ECDHE AEAD first, then ECDHE CBC, then static RSA), with DHE AES
// as SSL Labs' older reference clients (IE 11, Java 8) send it. After them
// it offers every 64-bit block suite, last, as those clients offered 3DES:
// SSL Labs caps 3DES only when such a client gets it (January 2017: "sites
// that continue to support 3DES and keep it at the end of their ordered
// list of suites will not be affected").
var referenceSuites = []uint16{
	0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030, // ECDHE AES-GCM, ChaCha20
	0xC009, 0xC013, 0xC00A, 0xC014, // ECDHE AES-CBC-SHA
	0xC023, 0xC027, 0xC024, 0xC028, // ECDHE AES-CBC-SHA256/384
	0x009E, 0x009F, 0xCCAA, 0x0033, 0x0039, // DHE AES, ChaCha20
	0x009C, 0x009D, 0x002F, 0x0035, 0x003C, 0x003D, // RSA AES
}

// referenceRank is the reference client's preference for a suite (lower is
// preferred) and whether it offers the suite at all.
func referenceRank(s iana.CipherSuite) (int, bool) {
	if i := slices.Index(referenceSuites, s.Code); i >= 0 {
		return i, true
	}
	return len(referenceSuites), s.Block64()
}

// clientChoice is what the reference client gets from one version's suites.
type clientChoice struct {
	suite   iana.CipherSuite
	version tlswarden.Version
	how     string // whose order decided
}

// referenceChoice returns the suite the reference client negotiates: over
// the newest of TLS 1.2 and TLS 1.1 the server accepts (a TLS 1.2 client,
// so the server's TLS 1.3 does not help), picked by the server's order when
// it imposes one and by the client's otherwise. When the order could not be
// determined, the worse of the two picks counts. ok is false when the
// client and server share no suite.
func referenceChoice(tr *tlswarden.TLSResult) (c clientChoice, ok bool) {
	for _, v := range []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS11} {
		for _, vr := range tr.Versions {
			if vr.Version == v && vr.Supported {
				return chooseSuite(vr)
			}
		}
	}
	return clientChoice{}, false
}

func chooseSuite(vr tlswarden.VersionResult) (clientChoice, bool) {
	var byServer, byClient *iana.CipherSuite
	best := -1
	for _, s := range vr.Suites {
		info, known := iana.Suite(s.Code)
		rank, offered := referenceRank(info)
		if !known || !offered {
			continue
		}
		if byServer == nil {
			byServer = &info
		}
		if best < 0 || rank < best {
			best, byClient = rank, &info
		}
	}
	switch {
	case byServer == nil:
		return clientChoice{}, false
	case vr.Preference == tlswarden.PreferServer:
		return clientChoice{*byServer, vr.Version, "the server's order"}, true
	case vr.Preference == tlswarden.PreferClient || byServer.Code == byClient.Code:
		return clientChoice{*byClient, vr.Version, "the client's order"}, true
	case byServer.Block64():
		return clientChoice{*byServer, vr.Version, "the server's order (preference undetermined)"}, true
	}
	return clientChoice{*byClient, vr.Version, "the client's order (preference undetermined)"}, true
}
