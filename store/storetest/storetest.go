// Package storetest is the conformance suite for store.Store: one set of
// tests that every implementation runs against a real database, so that
// the Postgres and SQLite stores behave alike.
//
// An implementation's test calls Run with a NewDB that makes a fresh
// database (a schema, a file) per test:
//
//	func TestStore(t *testing.T) { storetest.Run(t, newTestDB) }
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// NewDB makes a fresh, empty database for one test or benchmark and returns
// a function that opens a new store on it, with connections of its own,
// each time it is called. The stores are not migrated; NewDB closes them
// and removes the database when tb ends.
type NewDB func(tb testing.TB) (open func() store.Store)

// Run runs the conformance suite; its subtests run in parallel, each on a
// database of its own.
func Run(t *testing.T, newDB NewDB) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewDB)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"MigrateConcurrently", testMigrateConcurrently},
		{"TargetCRUD", testTargetCRUD},
		{"TargetValidation", testTargetValidation},
		{"ListTargets", testListTargets},
		{"ImportTargets", testImportTargets},
		{"ImportRejectsBadRows", testImportRejectsBadRows},
		{"ImportConcurrently", testImportConcurrently},
		{"TargetKindKey", testTargetKindKey},
		{"TargetIntrusive", testTargetIntrusive},
		{"SSLv2Keys", testSSLv2Keys},
		{"ScanLifecycle", testScanLifecycle},
		{"ScanValidation", testScanValidation},
		{"FinishScanAtomic", testFinishScanAtomic},
		{"FinishScanCanceledMidway", testFinishScanCanceledMidway},
		{"LatestAndPreviousScan", testLatestAndPrevious},
		{"DeleteTargetCascades", testDeleteTargetCascades},
		{"ListFindings", testListFindings},
		{"ListEndpoints", testListEndpoints},
		{"ListEvents", testListEvents},
		{"PruneScans", testPruneScans},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ContextCanceled", testContextCanceled},
		{"ScanStates", testScanStates},
		{"EndpointReport", testEndpointReport},
		{"Tokens", testTokens}, {"TokenValidation", testTokenValidation},
		{"Waivers", testWaivers}, {"WaiverValidation", testWaiverValidation},
		{"Subscriptions", testSubscriptions}, {"SubscriptionValidation", testSubscriptionValidation},
		{"Deliveries", testDeliveries}, {"DeliveriesConcurrently", testDeliveriesConcurrently},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDB)
		})
	}
}

// migrated returns a new, migrated store on a fresh database.
func migrated(tb testing.TB, newDB NewDB) store.Store {
	tb.Helper()
	s := newDB(tb)()
	if err := s.Migrate(tb.Context()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

// base is the time the fixtures' history starts.
var base = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

func day(n int) time.Time { return base.Add(time.Duration(n) * 24 * time.Hour) }

func wantErr(tb testing.TB, what string, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("%s: got error %v, want one wrapping %q", what, err, want)
	}
}

func check(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func diff(tb testing.TB, what string, want, got any, opts ...cmp.Option) {
	tb.Helper()
	opts = append(opts, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}))
	if d := cmp.Diff(want, got, opts...); d != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// jsonEqual compares JSON by value: Postgres's jsonb respaces what it
// returns.
var jsonEqual = cmp.Transformer("json", func(m json.RawMessage) any {
	var v any
	if err := json.Unmarshal(m, &v); err != nil {
		return string(m)
	}
	return v
})

func newTarget(host, owner string, tags ...string) store.Target {
	return store.Target{Target: tlswarden.Target{Host: host, Port: 443, Owner: owner, Tags: tags}, Enabled: true, Intrusive: true}
}

func createTarget(tb testing.TB, s store.Store, host, owner string, tags ...string) store.Target {
	tb.Helper()
	t, err := s.CreateTarget(tb.Context(), newTarget(host, owner, tags...))
	check(tb, "CreateTarget "+host, err)
	return t
}

func createScan(tb testing.TB, s store.Store, targetID int64, started time.Time) store.Scan {
	tb.Helper()
	sc, err := s.CreateScan(tb.Context(), store.Scan{TargetID: targetID, Trigger: store.TriggerSchedule, Started: started})
	check(tb, "CreateScan", err)
	return sc
}

// scanWith creates and finishes a scan of the target, started at started,
// with the given result.
func scanWith(tb testing.TB, s store.Store, targetID int64, started time.Time, r store.ScanResult) store.Scan {
	tb.Helper()
	sc := createScan(tb, s, targetID, started)
	check(tb, "FinishScan", s.FinishScan(tb.Context(), sc.ID, r))
	return sc
}

// endpointReport is a plausible report of endpoint i: TLS 1.0 to 1.3
// probed, 1.2 and 1.3 accepted (and 1.0 too when legacy), a two-certificate
// chain.
func endpointReport(i int, legacy bool) tlswarden.EndpointReport {
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 443)
	host := fmt.Sprintf("h%d.example.org", i)
	return tlswarden.EndpointReport{
		Endpoint:    tlswarden.Endpoint{Host: host, Addr: addr},
		Status:      tlswarden.StatusOK,
		Connections: 14,
		DurationMS:  850,
		Probes: []tlswarden.ProbeStatus{
			{Name: "tls", Status: tlswarden.StatusOK, DurationMS: 600},
			{Name: "certificate", Status: tlswarden.StatusOK, DurationMS: 200},
		},
		TLS: &tlswarden.TLSResult{
			Versions: []tlswarden.VersionResult{
				{Version: tlswarden.TLS10, Supported: legacy, Status: tlswarden.StatusOK, Suites: legacySuites(legacy)},
				{Version: tlswarden.TLS11, Supported: false, Status: tlswarden.StatusOK},
				{Version: tlswarden.TLS12, Supported: true, Status: tlswarden.StatusOK, Preference: tlswarden.PreferServer, Suites: []tlswarden.Suite{
					{Code: 0xc02f, Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Group: "x25519"},
					{Code: 0xc030, Name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Group: "x25519"},
					{Code: 0xcca8, Name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Group: "x25519"},
				}},
				{Version: tlswarden.TLS13, Supported: true, Status: tlswarden.StatusOK, Preference: tlswarden.PreferClient, Suites: []tlswarden.Suite{
					{Code: 0x1301, Name: "TLS_AES_128_GCM_SHA256"},
					{Code: 0x1302, Name: "TLS_AES_256_GCM_SHA384"},
					{Code: 0x1303, Name: "TLS_CHACHA20_POLY1305_SHA256"},
				}},
			},
			Groups:           []tlswarden.Group{{Code: 29, Name: "x25519"}, {Code: 23, Name: "secp256r1"}},
			GroupsTestedWith: tlswarden.TLS13,
			PreferredGroup:   "x25519",
			Connections:      12,
		},
		Cert: &tlswarden.CertResult{
			ServerName:        host,
			Version:           tlswarden.TLS13,
			Chain:             []tlswarden.Certificate{certificate(host, false), certificate("Example Issuing CA", true)},
			ChainLength:       2,
			ChainBytes:        2600,
			ChainOrderCorrect: true,
			ChainComplete:     true,
			Trusted:           true,
			HostnameChecked:   host,
			HostnameMatches:   true,
			HostnameMatchedBy: host,
		},
	}
}

func legacySuites(legacy bool) []tlswarden.Suite {
	if !legacy {
		return nil
	}
	return []tlswarden.Suite{{Code: 0xc013, Name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Group: "x25519"}}
}

func certificate(name string, ca bool) tlswarden.Certificate {
	c := tlswarden.Certificate{
		SHA256:             fmt.Sprintf("%064x", len(name)),
		Size:               1300,
		Subject:            "CN=" + name,
		Issuer:             "CN=Example Root CA",
		Serial:             "0a1b2c3d4e5f",
		NotBefore:          base.Add(-30 * 24 * time.Hour),
		NotAfter:           base.Add(60 * 24 * time.Hour),
		SecondsUntilExpiry: 60 * 24 * 3600,
		ValiditySeconds:    90 * 24 * 3600,
		ValidityDays:       90,
		KeyType:            "RSA",
		KeyBits:            2048,
		SignatureAlgorithm: "SHA256-RSA",
		IsCA:               ca,
	}
	if !ca {
		c.DNSNames = []string{name}
		c.OCSPURLs = []string{"http://ocsp.example.org"}
	}
	return c
}

var rules = []string{"tls-min-version", "cipher-suites", "cert-trusted", "cert-expiry", "hsts", "ocsp-stapling", "key-size"}

// failing returns n findings that need attention: high-severity failures,
// every third one not evaluated instead.
func failing(n int) []tlswarden.Finding {
	fs := make([]tlswarden.Finding, n)
	for i := range fs {
		fs[i] = tlswarden.Finding{RuleID: rules[i%len(rules)], Title: "Rule " + rules[i%len(rules)],
			Severity: tlswarden.SeverityHigh, Outcome: tlswarden.RuleFail, Message: "accepts TLS 1.0"}
		if i%3 == 2 {
			fs[i].Outcome, fs[i].Message = tlswarden.RuleNotEvaluated, "the probe failed"
		}
	}
	return fs
}

// passing returns n passed findings.
func passing(n int) []tlswarden.Finding {
	fs := make([]tlswarden.Finding, n)
	for i := range fs {
		fs[i] = tlswarden.Finding{RuleID: fmt.Sprintf("pass-%d", i), Title: "A rule that passed",
			Severity: tlswarden.SeverityMedium, Outcome: tlswarden.RulePass, Message: "ok"}
	}
	return fs
}

// result is a finished, evaluated scan of n endpoints, each with per
// findings that need attention and two passes.
func result(finished time.Time, n, per int) store.ScanResult {
	fss := make([][]tlswarden.Finding, n)
	for i := range fss {
		fss[i] = append(failing(per), passing(2)...)
	}
	return judged(finished, fss...)
}

// judged is a finished, evaluated scan with one endpoint per list of
// findings.
func judged(finished time.Time, fss ...[]tlswarden.Finding) store.ScanResult {
	rep := tlswarden.Report{
		Schema:    tlswarden.ReportSchema,
		Target:    tlswarden.Target{Host: "example.org", Port: 443, Kind: tlswarden.KindHTTPS},
		Started:   finished.Add(-time.Minute),
		Finished:  finished,
		Status:    tlswarden.StatusOK,
		Endpoints: make([]tlswarden.EndpointReport, len(fss)),
	}
	ev := &tlswarden.Evaluation{
		Profile:     tlswarden.ProfileInfo{Name: "nhs-internet-first", Version: "2024-01", FailAt: tlswarden.SeverityMedium},
		EvaluatedAt: finished,
		Compliance:  tlswarden.Compliant,
		Endpoints:   make([]tlswarden.EndpointEvaluation, len(fss)),
	}
	for i, fs := range fss {
		rep.Endpoints[i] = endpointReport(i, true)
		ee := tlswarden.EndpointEvaluation{Endpoint: rep.Endpoints[i].Endpoint, Compliance: tlswarden.Compliant,
			Grade: &tlswarden.Grade{Letter: "A", Score: 90, Protocol: 95, KeyExchange: 90, Cipher: 90}, Findings: fs}
		if slices.ContainsFunc(fs, store.NeedsAttention) {
			ee.Compliance, ee.Grade.Letter = tlswarden.NonCompliant, "C"
			ee.Grade.Caps = []tlswarden.GradeCap{{Max: "C", Reason: "TLS 1.0 accepted"}}
		}
		ev.Compliance = ev.Compliance.Worse(ee.Compliance)
		ev.Endpoints[i] = ee
	}
	return store.ScanResult{Report: rep, Evaluation: ev}
}

// canceled returns a context that is already done.
func canceled(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(tb.Context())
	cancel()
	return ctx
}
