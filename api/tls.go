package api

import "crypto/tls"

// TLSConfig returns the configuration of the API's own HTTPS listener for
// the certificates given: TLS 1.2 and 1.3 only, and on TLS 1.2 only the
// ECDHE AEAD suites of Mozilla's intermediate configuration (version 6.0),
// so that tlswarden's own mozilla-intermediate profile passes it. TLS 1.3
// suites are all AEAD and not configurable in Go.
func TLSConfig(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: certs,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
	}
}
