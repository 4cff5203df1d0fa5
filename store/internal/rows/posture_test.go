package rows

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

var equateAddr = cmpopts.EquateComparable(netip.AddrPort{})

// postures are a scan's postures with something in every field, and with
// every field empty.
func postures() []store.EndpointPosture {
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 500, time.FixedZone("CET", 3600))
	return []store.EndpointPosture{
		{Addr: netip.MustParseAddrPort("[fe80::1%eth0]:8443"), Status: tlswarden.StatusOK,
			TLS: &store.TLSPosture{Versions: []store.VersionPosture{
				{Version: tlswarden.SSLv2, Failed: true},
				{Version: tlswarden.TLS12, Supported: true, Suites: []uint16{0xc02f, 0x000a, 0xffff}},
				{Version: 0x7f17},
			}},
			Cert: &store.CertPosture{LeafSHA256: strings.Repeat("ab", 32), LeafKeyType: "RSA", Chain: []store.ChainCertPosture{
				{NotBefore: t0, NotAfter: t0.AddDate(0, 3, 0), Expired: true, NotYetValid: true},
				{ParseFailed: true},
				{NotBefore: time.Unix(-1e10, 0), NotAfter: time.Unix(0, 0), SelfSigned: true},
			}, ChainComplete: true, Trusted: true, HostnameMatches: true, Others: []store.CertPosture{
				{LeafSHA256: strings.Repeat("cd", 32), LeafKeyType: "ECDSA", Chain: []store.ChainCertPosture{
					{NotBefore: t0, NotAfter: t0.AddDate(0, 1, 0), Expired: true}}, Trusted: false, HostnameMatches: true},
				{LeafSHA256: strings.Repeat("ef", 32), LeafKeyType: "Ed25519"},
			}},
			Evaluation: &store.EvaluationPosture{Profile: "nhs-internet-first", Compliance: tlswarden.NonCompliant,
				Graded: true, Grade: "A+", Headers: &store.HeadersPosture{Score: -25, Grade: "F", Failed: true},
				Failed: []store.FailedRule{{RuleID: "tls-min-version", Severity: tlswarden.SeverityCritical},
					{RuleID: "hsts", Severity: tlswarden.SeverityLow, Waived: true}}},
		},
		{Addr: netip.MustParseAddrPort("192.0.2.1:443"), Status: tlswarden.StatusTimeout},
		{Addr: netip.MustParseAddrPort("192.0.2.2:443"), Status: tlswarden.StatusOK,
			TLS: &store.TLSPosture{Versions: []store.VersionPosture{}}, Cert: &store.CertPosture{},
			Evaluation: &store.EvaluationPosture{Headers: &store.HeadersPosture{}}},
	}
}

// TestPosturesRoundTrip checks that what EncodePostures writes decodes to
// what it was given, with the scan's ID and each endpoint's ordinal.
func TestPosturesRoundTrip(t *testing.T) {
	want := postures()
	var ps Postures
	if err := ps.AddKept(7, EncodePostures(want[:1])); err != nil {
		t.Fatal(err)
	}
	if err := ps.AddKept(9, EncodePostures(want)); err != nil {
		t.Fatal(err)
	}
	if err := ps.AddKept(11, EncodePostures(nil)); err != nil {
		t.Fatal(err)
	}
	want = append(want[:1:1], want...)
	for i := range want {
		want[i].ScanID, want[i].Ordinal = 9, i-1
	}
	want[0].ScanID, want[0].Ordinal = 7, 0
	if d := cmp.Diff(want, ps.List(), equateAddr); d != "" {
		t.Errorf("decoded postures mismatch (-want +got):\n%s", d)
	}
	if m := ps.Missing([]int64{5, 7, 9, 11}); !slicesEqual(m, []int64{5}) {
		t.Errorf("Missing = %v, want [5]", m)
	}
}

func slicesEqual(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestPosturesOtherEncoding checks that postures kept in an encoding this
// store does not write are left for the documents.
func TestPosturesOtherEncoding(t *testing.T) {
	var ps Postures
	b := EncodePostures(postures())
	b[0] = PostureEncoding + 1
	if err := ps.AddKept(3, b); err != nil {
		t.Fatalf("AddKept of another encoding: %v", err)
	}
	if err := ps.AddKept(4, nil); err != nil {
		t.Fatalf("AddKept of nothing: %v", err)
	}
	if got := ps.List(); len(got) != 0 {
		t.Errorf("postures of another encoding decoded: %+v", got)
	}
	if m := ps.Missing([]int64{3, 4}); !slicesEqual(m, []int64{3, 4}) {
		t.Errorf("Missing = %v, want [3 4]", m)
	}
}

// TestPosturesCorrupt checks that every truncation of an encoding, and
// trailing bytes, are errors.
func TestPosturesCorrupt(t *testing.T) {
	b := EncodePostures(postures())
	for n := 1; n < len(b); n++ {
		var ps Postures
		if err := ps.AddKept(1, b[:n]); err == nil {
			t.Errorf("%d of %d bytes decoded without error", n, len(b))
		}
		if len(ps.List()) != 0 {
			t.Errorf("%d of %d bytes: postures kept after an error", n, len(b))
		}
	}
	var ps Postures
	if err := ps.AddKept(1, append(b, 0)); err == nil {
		t.Error("trailing byte decoded without error")
	}
}

// TestPostureEncodingVersion fails when store.EndpointPosture changes:
// postures kept by an earlier release would then decode without the new
// facts. Bump PostureEncoding (so that those are derived from their
// documents again) and record the new shape here.
func TestPostureEncodingVersion(t *testing.T) {
	shapes := map[int]string{
		1: "struct{ScanID int64;Ordinal int;Addr netip.AddrPort;Status tlswarden.Status;" +
			"TLS *struct{Versions []struct{Version tlswarden.Version;Supported bool;Failed bool;Suites []uint16}};" +
			"Cert *struct{LeafSHA256 string;Chain []struct{ParseFailed bool;NotBefore time.Time;NotAfter time.Time;" +
			"Expired bool;NotYetValid bool;SelfSigned bool};ChainComplete bool;Trusted bool;HostnameMatches bool};" +
			"Evaluation *struct{Profile string;Compliance tlswarden.Compliance;Graded bool;Grade string;" +
			"Headers *struct{Score int;Grade string;Failed bool};" +
			"Failed []struct{RuleID string;Severity tlswarden.Severity;Waived bool}}}",
		2: "struct{ScanID int64;Ordinal int;Addr netip.AddrPort;Status tlswarden.Status;" +
			"TLS *struct{Versions []struct{Version tlswarden.Version;Supported bool;Failed bool;Suites []uint16}};" +
			"Cert *struct{LeafSHA256 string;LeafKeyType string;Chain []struct{ParseFailed bool;NotBefore time.Time;NotAfter time.Time;" +
			"Expired bool;NotYetValid bool;SelfSigned bool};ChainComplete bool;Trusted bool;HostnameMatches bool;Others []struct{...}};" +
			"Evaluation *struct{Profile string;Compliance tlswarden.Compliance;Graded bool;Grade string;" +
			"Headers *struct{Score int;Grade string;Failed bool};" +
			"Failed []struct{RuleID string;Severity tlswarden.Severity;Waived bool}}}",
	}
	got := shape(reflect.TypeFor[store.EndpointPosture](), map[reflect.Type]bool{})
	if want := shapes[PostureEncoding]; got != want {
		t.Errorf("store.EndpointPosture is not the shape posture encoding %d was written for: bump PostureEncoding "+
			"and record the new shape:\n%s", PostureEncoding, got)
	}
}

// shape describes a type of package store by its fields' names and
// types; other packages' types by their names.
func shape(t reflect.Type, seen map[reflect.Type]bool) string {
	if p := t.PkgPath(); p != "" && p != reflect.TypeFor[store.EndpointPosture]().PkgPath() {
		return t.String()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + shape(t.Elem(), seen)
	case reflect.Slice:
		return "[]" + shape(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return "struct{...}"
		}
		seen[t] = true
		defer delete(seen, t)
		var b strings.Builder
		b.WriteString("struct{")
		for i := range t.NumField() {
			if i > 0 {
				b.WriteString(";")
			}
			f := t.Field(i)
			b.WriteString(f.Name + " " + shape(f.Type, seen))
		}
		return b.String() + "}"
	}
	return t.Kind().String()
}

// FuzzPostures decodes arbitrary bytes as kept postures: never a panic,
// and what decodes encodes to bytes that decode to the same postures.
func FuzzPostures(f *testing.F) {
	f.Add(EncodePostures(postures()))
	f.Add(EncodePostures(nil))
	f.Add([]byte{PostureEncoding, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ps Postures
		if err := ps.AddKept(1, b); err != nil {
			return
		}
		got := ps.List()
		again := EncodePostures(got)
		var qs Postures
		if err := qs.AddKept(1, again); err != nil {
			t.Fatalf("re-encoded postures do not decode: %v", err)
		}
		if d := cmp.Diff(got, qs.List(), equateAddr); d != "" {
			t.Errorf("re-encoded postures differ (-first +second):\n%s", d)
		}
		if !bytes.Equal(again, EncodePostures(qs.List())) {
			t.Error("encoding is not stable")
		}
	})
}
