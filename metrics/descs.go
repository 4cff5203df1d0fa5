package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden"
)

// endpointLabels are on every per-endpoint series: the target as host:port
// and its owner. org depends on endpoint, so it costs no cardinality, and
// Alertmanager can route on it without a join.
var endpointLabels = []string{"endpoint", "org"}

// postureDescs are the posture collector's metrics; the README's "Metrics
// and alerts" section lists them with their meaning.
type postureDescs struct {
	// Collector health.
	up, duration *prometheus.Desc
	// Fleet summaries, in both detail modes.
	endpoints, byCompliance, byGrade, byMinVersion, byScanResult, failing, lastSuccess *prometheus.Desc
	// Per endpoint, in full detail only: written by Handler in the text
	// format, not collected through the registry (see endpointFamilies).
	perEndpoint []*family
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

		perEndpoint: endpointFamilies(),
	}
}

// all lists every desc, for Describe: the per-endpoint families are
// described too, although they bypass the registry at scrape time, so that
// the registry refuses any other collector that would export one of their
// names.
func (d *postureDescs) all() []*prometheus.Desc {
	out := []*prometheus.Desc{d.up, d.duration, d.endpoints, d.byCompliance, d.byGrade, d.byMinVersion,
		d.byScanResult, d.failing, d.lastSuccess}
	for _, f := range d.perEndpoint {
		out = append(out, f.desc)
	}
	return out
}

// family is one per-endpoint gauge family: its name, HELP, the labels it
// has after endpoint and org, and which samples an endpoint gives it.
type family struct {
	name, help string
	extra      []string
	// samples writes the endpoint's samples of the family with
	// w.sample; it writes none when the endpoint has no such measurement.
	samples func(w *seriesWriter, e *entry)

	desc   *prometheus.Desc
	header []byte // # HELP and # TYPE lines
	prefix []byte // the name and "{"
}

func (f *family) init() {
	f.desc = prometheus.NewDesc(f.name, f.help, append(append([]string{}, endpointLabels...), f.extra...), nil)
	f.header = []byte("# HELP " + f.name + " " + helpEscaper.Replace(f.help) + "\n# TYPE " + f.name + " gauge\n")
	f.prefix = []byte(f.name + "{")
}

// helpEscaper escapes a HELP text as the text format wants.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// endpointFamilies are the per-endpoint series, in the order they are
// written. Measurements (all but the first four) come from the last
// successful scan: an endpoint without one (e.m nil) has none.
func endpointFamilies() []*family {
	fs := []*family{
		{name: "tlswarden_endpoint_info", help: "Descriptive labels of an endpoint, value 1; join on endpoint and org.",
			extra: []string{"host", "port", "kind", "profile"}, samples: func(w *seriesWriter, e *entry) {
				t, profile := &e.state.Target, ""
				if e.m != nil {
					profile = e.m.profile
				}
				w.sample(1, t.Host, strconv.Itoa(t.Port), string(t.Kind), profile)
			}},
		{name: "tlswarden_endpoint_scan_success", help: "1 if the endpoint's latest scan scanned every address, else 0 (also when never scanned).",
			samples: func(w *seriesWriter, e *entry) {
				w.sample(bool01(e.state.Latest.ID != 0 && e.state.LatestFailure == ""))
			}},
		{name: "tlswarden_endpoint_last_scan_timestamp_seconds", help: "When the endpoint's latest scan finished, successful or not (Unix time).",
			samples: func(w *seriesWriter, e *entry) {
				if e.state.Latest.ID != 0 {
					w.sample(timestamp(e.state.Latest.Finished))
				}
			}},
		{name: "tlswarden_endpoint_scan_error_info", help: "Why the endpoint's latest scan failed, value 1; exported only while it fails. reason is a scan status: dns_error, refused, timeout, reset, unreachable, protocol_error, handshake_error, rate_limited, blocked (nothing answered the connect of an smtp target: the scanner's network likely blocks port 25), canceled, error.",
			extra: []string{"reason"}, samples: func(w *seriesWriter, e *entry) {
				if e.state.LatestFailure != "" {
					w.sample(1, string(e.state.LatestFailure))
				}
			}},
		{name: "tlswarden_endpoint_last_successful_scan_timestamp_seconds", help: "When the endpoint's last successful scan finished (Unix time): the age of every measurement exported for it.",
			samples: measuredBy(func(w *seriesWriter, e *entry) { w.sample(timestamp(e.state.LastSuccess.Finished)) })},
		{name: "tlswarden_endpoint_scan_interval_seconds", help: "Longest time the endpoint waits between scheduled scans: the period of its own schedule, or of the default one plus the jitter window; absent when it is scanned on no schedule. TLSWardenEndpointNotScanned compares it with the age of the last successful scan.",
			samples: func(w *seriesWriter, e *entry) {
				if e.interval > 0 {
					w.sample(e.interval.Seconds())
				}
			}},
		{name: "tlswarden_endpoint_addresses", help: "Number of addresses the endpoint's last successful scan found, by family (ipv4, ipv6).",
			extra: []string{"family"}, samples: measuredBy(func(w *seriesWriter, e *entry) {
				w.sample(float64(e.m.ipv4), "ipv4")
				w.sample(float64(e.m.ipv6), "ipv6")
			})},
		{name: "tlswarden_endpoint_addresses_inconsistent", help: "1 if the endpoint's addresses disagreed on certificate, versions, suites or grade at its last successful scan (a load-balancer member configured differently), else 0.",
			samples: measuredBy(func(w *seriesWriter, e *entry) { w.sample(bool01(e.m.inconsistent)) })},
		{name: "tlswarden_endpoint_compliant", help: "1 if every address of the endpoint complied with the profile at its last successful scan, else 0 (non-compliant or unknown)." + asOf,
			extra: []string{"profile"}, samples: measuredBy(func(w *seriesWriter, e *entry) {
				if e.m.evaluated {
					w.sample(bool01(e.m.compliance == tlswarden.Compliant), e.m.profile)
				}
			})},
		{name: "tlswarden_endpoint_rule_failing", help: "1 for each policy rule the endpoint fails, unwaived, by rule and severity; exported only while it fails. Alerts on one kind's rules select by rule (starttls.offered, mail.mta_sts_enforce, mail.dane_tlsa_match)." + asOf,
			extra: []string{"rule", "severity"}, samples: measuredBy(func(w *seriesWriter, e *entry) {
				for _, k := range e.m.failedRules {
					w.sample(1, k.rule, k.severity)
				}
			})},
		{name: "tlswarden_endpoint_grade", help: "TLS grade as a number, higher is better: A+ 8, A 7, A- 6, B 5, C 4, D 3, E 2, F 1, T (trust failure) 0." + asOf,
			samples: measuredBy(func(w *seriesWriter, e *entry) {
				if e.m.grade != "" {
					w.sample(gradeValues[e.m.grade])
				}
			})},
		{name: "tlswarden_http_header_score", help: "HTTP security-header score (MDN HTTP Observatory algorithm, 0 and up); the lowest over the addresses." + asOf,
			samples: measuredBy(func(w *seriesWriter, e *entry) {
				if e.m.headerScored {
					w.sample(e.m.headerScore)
				}
			})},
		{name: "tlswarden_tls_version_supported", help: "1 if an address of the endpoint accepted the protocol version, 0 if none did; absent when the version could not be tested." + asOf,
			extra: []string{"version"}, samples: tlsMeasuredBy(func(w *seriesWriter, m *measured) {
				for i, v := range m.versions {
					if v >= 0 {
						w.sample(float64(v), versionLabels[i])
					}
				}
			})},
		{name: "tlswarden_tls_min_version", help: "Oldest protocol version accepted by any address, as a number: 1.0, 1.1, 1.2, 1.3 (SSL 3 is 0.3, SSL 2 0.2)." + asOf,
			samples: tlsMeasuredBy(func(w *seriesWriter, m *measured) {
				if m.minVer >= 0 {
					w.sample(versionValues[m.minVer])
				}
			})},
		{name: "tlswarden_tls_max_version", help: "Newest protocol version accepted, as a number like tlswarden_tls_min_version; the lowest over the addresses." + asOf,
			samples: tlsMeasuredBy(func(w *seriesWriter, m *measured) {
				if m.maxVer >= 0 {
					w.sample(versionValues[m.maxVer])
				}
			})},
		// A class with no suite is left out: most endpoints accept one or
		// two of the nine classes, and an absent class reads as 0 in
		// PromQL with `or vector(0)`, so the series count stays near what
		// is accepted.
		{name: "tlswarden_tls_cipher_suites", help: "Number of distinct cipher suites accepted over all versions, by class (iana: null, anon, export, des, rc4, 3des, cbc, aead, other); the highest over the addresses; a class with none is absent." + asOf,
			extra: []string{"class"}, samples: tlsMeasuredBy(func(w *seriesWriter, m *measured) {
				for i, n := range m.suites {
					if n > 0 {
						w.sample(float64(n), suiteClasses[i])
					}
				}
			})},
		{name: "tlswarden_certificate_not_before_timestamp_seconds", help: "Start of validity of the leaf certificate that expires first over the addresses (Unix time). As of the endpoint's last successful scan.",
			samples: certBy(func(w *seriesWriter, c *certMeasure) { w.sample(c.notBefore) })},
		{name: "tlswarden_certificate_not_after_timestamp_seconds", help: "Expiry of the leaf certificate that expires first over the addresses (Unix time). As of the endpoint's last successful scan.",
			samples: certBy(func(w *seriesWriter, c *certMeasure) { w.sample(c.notAfter) })},
		{name: "tlswarden_certificate_chain_not_after_timestamp_seconds", help: "Earliest expiry along the served chain, leaf included, self-signed trust anchors left out (Unix time)." + asOf,
			samples: certBy(func(w *seriesWriter, c *certMeasure) {
				if c.chainNotAfter > 0 {
					w.sample(c.chainNotAfter)
				}
			})},
		{name: "tlswarden_certificate_verified", help: "1 if the certificate of every address verified (trusted chain, valid dates, hostname matches), else 0." + asOf,
			samples: certBy(func(w *seriesWriter, c *certMeasure) { w.sample(bool01(c.verified)) })},
		{name: "tlswarden_certificate_verify_error_info", help: "Why the certificate does not verify, value 1 per reason: expired, not_yet_valid, hostname_mismatch, incomplete_chain, unknown_authority, other." + asOf,
			extra: []string{"reason"}, samples: certBy(func(w *seriesWriter, c *certMeasure) {
				for _, r := range c.reasons {
					w.sample(1, r)
				}
			})},
	}
	for _, f := range fs {
		f.init()
	}
	return fs
}

// measuredBy limits a family to endpoints with a successful scan.
func measuredBy(samples func(*seriesWriter, *entry)) func(*seriesWriter, *entry) {
	return func(w *seriesWriter, e *entry) {
		if e.m != nil {
			samples(w, e)
		}
	}
}

// tlsMeasuredBy limits a family to endpoints whose last successful scan
// tested protocol versions.
func tlsMeasuredBy(samples func(*seriesWriter, *measured)) func(*seriesWriter, *entry) {
	return func(w *seriesWriter, e *entry) {
		if e.m != nil && e.m.tlsMeasured {
			samples(w, e.m)
		}
	}
}

// certBy limits a family to endpoints whose last successful scan read a
// certificate.
func certBy(samples func(*seriesWriter, *certMeasure)) func(*seriesWriter, *entry) {
	return func(w *seriesWriter, e *entry) {
		if e.m != nil && e.m.cert != nil {
			samples(w, e.m.cert)
		}
	}
}
