package metrics_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/postgres"
	"github.com/tlswarden/tlswarden/store/sqlite"
)

// base is when the fixtures' scans run.
var base = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)

// postureStore is what the tests need of a store.
type postureStore interface {
	store.Store
	store.PostureStore
}

// sqliteStore opens a migrated SQLite store in a temporary directory.
func sqliteStore(tb testing.TB) postureStore {
	return sqliteStoreAt(tb, filepath.Join(tb.TempDir(), "tlswarden.db"))
}

// sqliteStoreAt opens a migrated SQLite store on the file at path.
func sqliteStoreAt(tb testing.TB, path string) postureStore {
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func databaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// postgresStore opens a migrated Postgres store on a schema of its own,
// dropped at the end. It skips when Postgres does not answer, except under
// CI=true. The schema name follows store/postgres's tests so that their
// clean-up of stale schemas covers it.
func postgresStore(tb testing.TB) postureStore {
	ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
	defer cancel()
	admin, err := pgxpool.New(ctx, databaseURL())
	if err == nil {
		err = admin.Ping(ctx)
	}
	testenv.Need(tb, "PostgreSQL at TEST_DATABASE_URL", err)
	schema := fmt.Sprintf("storetest_%d_%s", time.Now().Unix(), strings.ToLower(rand.Text()[:12]))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	cfg, err := pgxpool.ParseConfig(databaseURL())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s := postgres.New(pool)
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// endpointSpec describes one address of a fixture endpoint.
type endpointSpec struct {
	addr       string
	versions   []tlswarden.Version // accepted, of TLS 1.0 to 1.3
	suites     []uint16
	notAfter   time.Time
	leaf       string // the leaf's SHA-256; differs on a drifted member
	trusted    bool
	hostnameOK bool
	selfSigned bool
	grade      string
	compliance tlswarden.Compliance
	header     int
	failed     []tlswarden.Finding
}

func modern(addr string) endpointSpec {
	return endpointSpec{addr: addr, versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
		suites: []uint16{0xc02f, 0x1301}, notAfter: base.AddDate(0, 2, 0), leaf: "aa", trusted: true,
		hostnameOK: true, grade: "A+", compliance: tlswarden.Compliant, header: 90}
}

func legacy(addr string) endpointSpec {
	return endpointSpec{addr: addr, versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12},
		suites: []uint16{0xc013, 0x000a, 0xc02f}, notAfter: base.AddDate(0, 0, 10), leaf: "bb", trusted: true,
		hostnameOK: true, grade: "C", compliance: tlswarden.NonCompliant, header: 20,
		failed: []tlswarden.Finding{{RuleID: "tls-min-version", Severity: tlswarden.SeverityHigh, Outcome: tlswarden.RuleFail}}}
}

// report builds one address's report and evaluation.
func (sp endpointSpec) report(host string) (tlswarden.EndpointReport, tlswarden.EndpointEvaluation) {
	ep := tlswarden.Endpoint{Host: host, Addr: netip.MustParseAddrPort(sp.addr)}
	tr := &tlswarden.TLSResult{}
	for _, v := range []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12, tlswarden.TLS13} {
		vr := tlswarden.VersionResult{Version: v, Status: tlswarden.StatusOK}
		for _, a := range sp.versions {
			if a == v {
				vr.Supported = true
				for _, c := range sp.suites {
					vr.Suites = append(vr.Suites, tlswarden.Suite{Code: c})
				}
			}
		}
		tr.Versions = append(tr.Versions, vr)
	}
	leaf := tlswarden.Certificate{SHA256: sp.leaf, NotBefore: sp.notAfter.AddDate(0, 0, -90), NotAfter: sp.notAfter,
		SelfSigned: sp.selfSigned}
	chain := []tlswarden.Certificate{leaf}
	if !sp.selfSigned {
		chain = append(chain, tlswarden.Certificate{SHA256: "ca", NotBefore: base.AddDate(-1, 0, 0), NotAfter: base.AddDate(3, 0, 0), IsCA: true},
			tlswarden.Certificate{SHA256: "root", NotBefore: base.AddDate(-10, 0, 0), NotAfter: base.AddDate(0, 0, 5), IsCA: true, SelfSigned: true})
	}
	cert := &tlswarden.CertResult{Chain: chain, ChainLength: len(chain), Trusted: sp.trusted,
		ChainComplete: sp.trusted, HostnameMatches: sp.hostnameOK}
	rep := tlswarden.EndpointReport{Endpoint: ep, Status: tlswarden.StatusOK, Connections: 10,
		Probes: []tlswarden.ProbeStatus{{Name: "tls", Status: tlswarden.StatusOK}}, TLS: tr, Cert: cert}
	ev := tlswarden.EndpointEvaluation{Endpoint: ep, Compliance: sp.compliance, Grade: &tlswarden.Grade{Letter: sp.grade},
		Headers: &tlswarden.HeaderScore{Algorithm: "mdn-v6", Score: sp.header, Grade: "B"}, Findings: sp.failed}
	return rep, ev
}

// result builds a finished, evaluated scan of host with one endpoint per
// spec.
func result(host string, finished time.Time, specs ...endpointSpec) store.ScanResult {
	rep := tlswarden.Report{Schema: tlswarden.ReportSchema, Target: tlswarden.Target{Host: host, Port: 443},
		Started: finished.Add(-time.Minute), Finished: finished, Status: tlswarden.StatusOK}
	ev := &tlswarden.Evaluation{Profile: tlswarden.ProfileInfo{Name: "nhs-internet-first"}, EvaluatedAt: finished,
		Compliance: tlswarden.Compliant}
	for _, sp := range specs {
		r, e := sp.report(host)
		rep.Endpoints, ev.Endpoints = append(rep.Endpoints, r), append(ev.Endpoints, e)
		ev.Compliance = ev.Compliance.Worse(e.Compliance)
	}
	return store.ScanResult{Report: rep, Evaluation: ev}
}

// failedResult is a scan whose every endpoint timed out.
func failedResult(host string, finished time.Time, addr string) store.ScanResult {
	ep := tlswarden.Endpoint{Host: host, Addr: netip.MustParseAddrPort(addr)}
	return store.ScanResult{Report: tlswarden.Report{Schema: tlswarden.ReportSchema,
		Target: tlswarden.Target{Host: host, Port: 443}, Started: finished.Add(-time.Minute), Finished: finished,
		Status: tlswarden.StatusOK, Endpoints: []tlswarden.EndpointReport{{Endpoint: ep, Status: tlswarden.StatusTimeout, Error: "i/o timeout"}}}}
}

func addTarget(tb testing.TB, s store.Store, host, owner string) store.Target {
	tb.Helper()
	t, err := s.CreateTarget(tb.Context(), store.Target{Target: tlswarden.Target{Host: host, Port: 443, Owner: owner}, Enabled: true})
	if err != nil {
		tb.Fatalf("CreateTarget %s: %v", host, err)
	}
	return t
}

func addScan(tb testing.TB, s store.Store, targetID int64, r store.ScanResult) {
	tb.Helper()
	sc, err := s.CreateScan(tb.Context(), store.Scan{TargetID: targetID, Trigger: store.TriggerSchedule, Started: r.Report.Started})
	if err != nil {
		tb.Fatalf("CreateScan: %v", err)
	}
	if err := s.FinishScan(tb.Context(), sc.ID, r); err != nil {
		tb.Fatalf("FinishScan: %v", err)
	}
}

// seed fills s with the estate the tests expect:
//   - legacy.example.org (org-a): TLS 1.0 to 1.2, grade C, non-compliant,
//     leaf expiring in 10 days; its second address serves TLS 1.2 only, so
//     its addresses disagree;
//   - modern.example.org (org-b): TLS 1.2 and 1.3, grade A+, compliant;
//     its latest scan timed out, so its measurements come from the day
//     before;
//   - broken.example.org (org-b): self-signed leaf for another name;
//   - new.example.org (org-a): never scanned.
func seed(tb testing.TB, s store.Store) {
	lg := addTarget(tb, s, "legacy.example.org", "org-a")
	second := modern("[2001:db8::1]:443")
	second.versions, second.leaf, second.grade, second.compliance = []tlswarden.Version{tlswarden.TLS12}, "bb", "B", tlswarden.Compliant
	addScan(tb, s, lg.ID, result("legacy.example.org", base, legacy("192.0.2.1:443"), second))
	md := addTarget(tb, s, "modern.example.org", "org-b")
	addScan(tb, s, md.ID, result("modern.example.org", base, modern("192.0.2.2:443")))
	addScan(tb, s, md.ID, failedResult("modern.example.org", base.Add(24*time.Hour), "192.0.2.2:443"))
	br := addTarget(tb, s, "broken.example.org", "org-b")
	bad := modern("192.0.2.3:443")
	bad.trusted, bad.hostnameOK, bad.selfSigned, bad.grade, bad.compliance = false, false, true, "T", tlswarden.NonCompliant
	addScan(tb, s, br.ID, result("broken.example.org", base, bad))
	addTarget(tb, s, "new.example.org", "org-a")
}
