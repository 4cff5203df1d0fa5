package metrics

import "github.com/prometheus/client_golang/prometheus"

// endpointLabels are on every per-endpoint series: the target as host:port
// and its owner. org depends on endpoint, so it costs no cardinality, and
// Alertmanager can route on it without a join.
var endpointLabels = []string{"endpoint", "org"}

func endpointDesc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, endpointLabels...), extra...), nil)
}

// postureDescs are the posture collector's metrics; the README's "Metrics
// and alerts" section lists them with their meaning.
type postureDescs struct {
	// Collector health.
	up, duration *prometheus.Desc
	// Fleet summaries, in both detail modes.
	endpoints, byCompliance, byGrade, byMinVersion, byScanResult, failing, lastSuccess *prometheus.Desc
	// Per endpoint, in full detail only.
	info, lastScan, lastSuccessful, scanSuccess, scanError, addresses, inconsistent *prometheus.Desc
	compliant, grade, versionSupported, minVersion, maxVersion, suites, headerScore *prometheus.Desc
	notBefore, notAfter, chainNotAfter, verified, verifyError                       *prometheus.Desc
}

// asOf is appended to the HELP of measurements: they come from the last
// successful scan, not from the scrape.
const asOf = " As of the endpoint's last successful scan; the worst case over its addresses."

func newPostureDescs() postureDescs {
	return postureDescs{
		up:       prometheus.NewDesc("tlswarden_posture_collect_success", "1 if the posture metrics could be read from the store at this scrape, else 0 (and no posture series are exported).", nil, nil),
		duration: prometheus.NewDesc("tlswarden_posture_collect_duration_seconds", "Time taken to read and compute the posture metrics at this scrape.", nil, nil),

		endpoints:    prometheus.NewDesc("tlswarden_endpoints", "Number of enabled targets (endpoints, host:port) in the registry.", []string{"org"}, nil),
		byCompliance: prometheus.NewDesc("tlswarden_endpoints_by_compliance", "Number of endpoints by the verdict of their last successful scan (compliant, non_compliant, unknown) and the profile it was judged against; never-scanned endpoints count as unknown with an empty profile.", []string{"org", "profile", "compliance"}, nil),
		byGrade:      prometheus.NewDesc("tlswarden_endpoints_by_grade", "Number of endpoints by the worst TLS grade over their addresses at their last successful scan; none when not graded.", []string{"grade"}, nil),
		byMinVersion: prometheus.NewDesc("tlswarden_endpoints_by_min_version", "Number of endpoints by the oldest protocol version any of their addresses accepted at their last successful scan; none when unknown.", []string{"version"}, nil),
		byScanResult: prometheus.NewDesc("tlswarden_endpoints_by_scan_result", "Number of endpoints by how their latest scan ended: success (every address scanned), failed, or never (not scanned yet).", []string{"result"}, nil),
		failing:      prometheus.NewDesc("tlswarden_endpoints_failing", "Number of endpoints that fail a policy rule (unwaived) at their last successful scan, by rule and severity.", []string{"rule", "severity"}, nil),
		lastSuccess:  prometheus.NewDesc("tlswarden_last_successful_scan_timestamp_seconds", "When the most recent successful scan of any endpoint finished (Unix time): stops moving when the nightly run stops.", nil, nil),

		info:             endpointDesc("tlswarden_endpoint_info", "Descriptive labels of an endpoint, value 1; join on endpoint and org.", "host", "port", "kind", "profile"),
		lastScan:         endpointDesc("tlswarden_endpoint_last_scan_timestamp_seconds", "When the endpoint's latest scan finished, successful or not (Unix time)."),
		lastSuccessful:   endpointDesc("tlswarden_endpoint_last_successful_scan_timestamp_seconds", "When the endpoint's last successful scan finished (Unix time): the age of every measurement exported for it."),
		scanSuccess:      endpointDesc("tlswarden_endpoint_scan_success", "1 if the endpoint's latest scan scanned every address, else 0 (also when never scanned)."),
		scanError:        endpointDesc("tlswarden_endpoint_scan_error_info", "Why the endpoint's latest scan failed, value 1; exported only while it fails. reason is a scan status: dns_error, refused, timeout, reset, unreachable, protocol_error, handshake_error, canceled, error.", "reason"),
		addresses:        endpointDesc("tlswarden_endpoint_addresses", "Number of addresses the endpoint's last successful scan found, by family (ipv4, ipv6).", "family"),
		inconsistent:     endpointDesc("tlswarden_endpoint_addresses_inconsistent", "1 if the endpoint's addresses disagreed on certificate, versions, suites or grade at its last successful scan (a load-balancer member configured differently), else 0."),
		compliant:        endpointDesc("tlswarden_endpoint_compliant", "1 if every address of the endpoint complied with the profile at its last successful scan, else 0 (non-compliant or unknown)."+asOf, "profile"),
		grade:            endpointDesc("tlswarden_endpoint_grade", "TLS grade as a number, higher is better: A+ 8, A 7, A- 6, B 5, C 4, D 3, E 2, F 1, T (trust failure) 0."+asOf),
		versionSupported: endpointDesc("tlswarden_tls_version_supported", "1 if an address of the endpoint accepted the protocol version, 0 if none did; absent when the version could not be tested."+asOf, "version"),
		minVersion:       endpointDesc("tlswarden_tls_min_version", "Oldest protocol version accepted by any address, as a number: 1.0, 1.1, 1.2, 1.3 (SSL 3 is 0.3, SSL 2 0.2)."+asOf),
		maxVersion:       endpointDesc("tlswarden_tls_max_version", "Newest protocol version accepted, as a number like tlswarden_tls_min_version; the lowest over the addresses."+asOf),
		suites:           endpointDesc("tlswarden_tls_cipher_suites", "Number of distinct cipher suites accepted over all versions, by class (iana: null, anon, export, des, rc4, 3des, cbc, aead, other); the highest over the addresses; a class with none is absent."+asOf, "class"),
		headerScore:      endpointDesc("tlswarden_http_header_score", "HTTP security-header score (MDN HTTP Observatory algorithm, 0 and up); the lowest over the addresses."+asOf),
		notBefore:        endpointDesc("tlswarden_certificate_not_before_timestamp_seconds", "Start of validity of the leaf certificate that expires first over the addresses (Unix time). As of the endpoint's last successful scan."),
		notAfter:         endpointDesc("tlswarden_certificate_not_after_timestamp_seconds", "Expiry of the leaf certificate that expires first over the addresses (Unix time). As of the endpoint's last successful scan."),
		chainNotAfter:    endpointDesc("tlswarden_certificate_chain_not_after_timestamp_seconds", "Earliest expiry along the served chain, leaf included, self-signed trust anchors left out (Unix time)."+asOf),
		verified:         endpointDesc("tlswarden_certificate_verified", "1 if the certificate of every address verified (trusted chain, valid dates, hostname matches), else 0."+asOf),
		verifyError:      endpointDesc("tlswarden_certificate_verify_error_info", "Why the certificate does not verify, value 1 per reason: expired, not_yet_valid, hostname_mismatch, incomplete_chain, unknown_authority, other."+asOf, "reason"),
	}
}

// all lists every desc, for Describe.
func (d *postureDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.up, d.duration, d.endpoints, d.byCompliance, d.byGrade, d.byMinVersion,
		d.byScanResult, d.failing, d.lastSuccess, d.info, d.lastScan, d.lastSuccessful, d.scanSuccess,
		d.scanError, d.addresses, d.inconsistent, d.compliant, d.grade, d.versionSupported, d.minVersion,
		d.maxVersion, d.suites, d.headerScore, d.notBefore, d.notAfter, d.chainNotAfter, d.verified, d.verifyError}
}
