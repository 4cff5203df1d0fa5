package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
)

// newResolver returns a Resolver asking only the given test servers, with
// one short attempt unless cfg says otherwise.
func newResolver(t *testing.T, cfg Config, servers ...*dnstest.Server) *Resolver {
	t.Helper()
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Addr)
	}
	cfg.Timeout = cmpOr(cfg.Timeout, 300*time.Millisecond)
	cfg.Attempts = cmpOr(cfg.Attempts, 1)
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// scrub replaces a server's address in query errors, which change with
// every run, by "SERVER".
func scrub(res *tlswarden.Resolution, addr string) {
	for i := range res.Queries {
		res.Queries[i].Error = strings.ReplaceAll(res.Queries[i].Error, addr, "SERVER")
	}
}

// addrs lets cmp compare netip.Addr, whose fields are unexported.
var addrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func addr(s string, ttl uint32) tlswarden.Address {
	return tlswarden.Address{Addr: netip.MustParseAddr(s), TTL: ttl}
}

func queries(a, aaaa tlswarden.Outcome) []tlswarden.QueryResult {
	return []tlswarden.QueryResult{{Type: "A", Outcome: a}, {Type: "AAAA", Outcome: aaaa}}
}

// zone is shared by the table tests.
var zone = []string{
	"multi.example. 300 IN A 192.0.2.1",
	"multi.example. 300 IN A 192.0.2.2",
	"multi.example. 120 IN AAAA 2001:db8::1",
	"multi.example. 120 IN AAAA 2001:db8::2",
	"www.example. 600 IN CNAME edge.example.",
	"edge.example. 60 IN CNAME host.cdn.example.",
	"host.cdn.example. 20 IN A 192.0.2.10",
	"host.cdn.example. 20 IN AAAA 2001:db8::10",
	"v4only.example. 300 IN A 192.0.2.4",
	"dangling.example. 300 IN CNAME missing.example.",
	"text.example. 300 IN TXT hello",
	"mixed.example. 300 IN A 192.0.2.5",
	"broken.example. 300 IN A 192.0.2.6",
}

func TestResolve(t *testing.T) {
	wwwChain := []tlswarden.CNAME{
		{Name: "www.example", Target: "edge.example", TTL: 600},
		{Name: "edge.example", Target: "host.cdn.example", TTL: 60},
	}
	tests := []struct {
		host    string
		want    tlswarden.Resolution
		wantErr string
	}{
		{host: "multi.example", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{addr("192.0.2.1", 300), addr("192.0.2.2", 300), addr("2001:db8::1", 120), addr("2001:db8::2", 120)},
			Queries:   queries(tlswarden.OutcomeOK, tlswarden.OutcomeOK),
		}},
		{host: "www.example", want: tlswarden.Resolution{
			Chain:     wwwChain,
			Addresses: []tlswarden.Address{addr("192.0.2.10", 20), addr("2001:db8::10", 20)},
			Queries:   queries(tlswarden.OutcomeOK, tlswarden.OutcomeOK),
		}},
		{host: "v4only.example", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{addr("192.0.2.4", 300)},
			Queries:   queries(tlswarden.OutcomeOK, tlswarden.OutcomeNoData),
		}},
		{host: "nope.example", wantErr: "resolve nope.example: NXDOMAIN", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{},
			Queries:   queries(tlswarden.OutcomeNXDomain, tlswarden.OutcomeNXDomain),
		}},
		{host: "dangling.example", wantErr: "resolve dangling.example: NXDOMAIN", want: tlswarden.Resolution{
			Chain:     []tlswarden.CNAME{{Name: "dangling.example", Target: "missing.example", TTL: 300}},
			Addresses: []tlswarden.Address{},
			Queries:   queries(tlswarden.OutcomeNXDomain, tlswarden.OutcomeNXDomain),
		}},
		{host: "half.example", wantErr: "resolve half.example: NXDOMAIN", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{},
			Queries: []tlswarden.QueryResult{{Type: "A", Outcome: tlswarden.OutcomeServFail, Error: "SERVFAIL from SERVER"},
				{Type: "AAAA", Outcome: tlswarden.OutcomeNXDomain}},
		}},
		{host: "text.example", wantErr: "resolve text.example: no A or AAAA records", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{},
			Queries:   queries(tlswarden.OutcomeNoData, tlswarden.OutcomeNoData),
		}},
		{host: "mixed.example", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{addr("192.0.2.5", 300)},
			Queries: []tlswarden.QueryResult{{Type: "A", Outcome: tlswarden.OutcomeOK},
				{Type: "AAAA", Outcome: tlswarden.OutcomeServFail, Error: "SERVFAIL from SERVER"}},
		}},
		{host: "broken.example", wantErr: "resolve broken.example: SERVFAIL", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{},
			Queries: []tlswarden.QueryResult{{Type: "A", Outcome: tlswarden.OutcomeServFail, Error: "SERVFAIL from SERVER"},
				{Type: "AAAA", Outcome: tlswarden.OutcomeServFail, Error: "SERVFAIL from SERVER"}},
		}},
		{host: "closed.example", wantErr: "resolve closed.example: REFUSED", want: tlswarden.Resolution{
			Addresses: []tlswarden.Address{},
			Queries: []tlswarden.QueryResult{{Type: "A", Outcome: tlswarden.OutcomeRefused, Error: "REFUSED from SERVER"},
				{Type: "AAAA", Outcome: tlswarden.OutcomeRefused, Error: "REFUSED from SERVER"}},
		}},
	}
	// The same answers whether the server gives whole chains, as a
	// recursive resolver does, or one link per answer.
	for _, recursive := range []bool{true, false} {
		srv := dnstest.New(t)
		srv.Add(zone...)
		srv.SetRecursive(recursive)
		srv.Rcode("mixed.example", dns.TypeAAAA, dns.RcodeServerFailure)
		srv.Rcode("half.example", dns.TypeA, dns.RcodeServerFailure)
		srv.Rcode("broken.example", 0, dns.RcodeServerFailure)
		srv.Rcode("closed.example", 0, dns.RcodeRefused)
		r := newResolver(t, Config{}, srv)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/recursive=%v", tt.host, recursive), func(t *testing.T) {
				res, err := r.Resolve(t.Context(), tt.host)
				if got := errString(err); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
				scrub(res, srv.Addr)
				tt.want.Name = tt.host
				if diff := cmp.Diff(&tt.want, res, addrs); diff != "" {
					t.Errorf("resolution (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestResolveFollowsChainAcrossAnswers(t *testing.T) {
	for _, recursive := range []bool{true, false} {
		srv := dnstest.New(t)
		srv.Add(zone...)
		srv.SetRecursive(recursive)
		r := newResolver(t, Config{}, srv)
		if _, err := r.Resolve(t.Context(), "www.example"); err != nil {
			t.Fatal(err)
		}
		// A recursive server is asked once; otherwise each link is.
		want := map[string]int{"www.example": 1, "edge.example": 0, "host.cdn.example": 0}
		if !recursive {
			want = map[string]int{"www.example": 1, "edge.example": 1, "host.cdn.example": 1}
		}
		for name, n := range want {
			if got := srv.Queries(name, dns.TypeA); got != n {
				t.Errorf("recursive=%v: %d A queries for %s, want %d", recursive, got, name, n)
			}
		}
	}
}

func TestResolveErrorType(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(zone...)
	r := newResolver(t, Config{}, srv)
	_, err := r.Resolve(t.Context(), "nope.example")
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v (%T) is not a *Error", err, err)
	}
	want := &Error{Name: "nope.example", Outcome: tlswarden.OutcomeNXDomain}
	if diff := cmp.Diff(want, rerr); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestResolveCNAMELoop(t *testing.T) {
	for _, recursive := range []bool{true, false} {
		srv := dnstest.New(t)
		srv.Add("a.example. 60 IN CNAME b.example.", "b.example. 60 IN CNAME a.example.")
		srv.SetRecursive(recursive)
		r := newResolver(t, Config{}, srv)
		res, err := r.Resolve(t.Context(), "a.example")
		want := "resolve a.example: CNAME loop: a.example -> b.example -> a.example"
		if !errors.Is(err, ErrCNAMELoop) || err.Error() != want {
			t.Errorf("recursive=%v: error %q, want %q wrapping ErrCNAMELoop", recursive, errString(err), want)
		}
		if res == nil || len(res.Queries) != 2 || res.Queries[0].Outcome != tlswarden.OutcomeError {
			t.Errorf("recursive=%v: queries %+v, want outcome error", recursive, res)
		}
	}
}

func TestResolveCNAMETooLong(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(
		"c1.example. 60 IN CNAME c2.example.",
		"c2.example. 60 IN CNAME c3.example.",
		"c3.example. 60 IN CNAME c4.example.",
		"c4.example. 60 IN A 192.0.2.1",
	)
	r := newResolver(t, Config{MaxCNAME: 2}, srv)
	if _, err := r.Resolve(t.Context(), "c2.example"); err != nil {
		t.Errorf("a chain of 2 with MaxCNAME 2: %v", err)
	}
	_, err := r.Resolve(t.Context(), "c1.example")
	want := "resolve c1.example: CNAME chain too long: more than 2 links from c1.example"
	if !errors.Is(err, ErrCNAMETooLong) || err.Error() != want {
		t.Errorf("error %q, want %q wrapping ErrCNAMETooLong", errString(err), want)
	}
}

func TestResolveTimeout(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("slow.example. 60 IN A 192.0.2.1")
	srv.Silence("slow.example", 0)
	r := newResolver(t, Config{Timeout: 50 * time.Millisecond, Attempts: 2}, srv)
	start := time.Now()
	res, err := r.Resolve(t.Context(), "slow.example")
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("took %v, want about 2 × 50ms", elapsed)
	}
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Outcome != tlswarden.OutcomeTimeout || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %v, want a *Error with outcome timeout wrapping os.ErrDeadlineExceeded", err)
	}
	if res.Queries[0].Outcome != tlswarden.OutcomeTimeout || res.Queries[1].Outcome != tlswarden.OutcomeTimeout {
		t.Errorf("queries %+v, want timeouts", res.Queries)
	}
	if got := srv.Queries("slow.example", dns.TypeA); got != 2 {
		t.Errorf("server got %d A queries, want 2 (one per attempt)", got)
	}
}

func TestResolveTriesNextServer(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*dnstest.Server)
		first int // A queries the first server gets
	}{
		{"servfail", func(s *dnstest.Server) { s.Rcode("www.example", 0, dns.RcodeServerFailure) }, 1},
		{"refused", func(s *dnstest.Server) { s.Rcode("www.example", 0, dns.RcodeRefused) }, 1},
		{"timeout", func(s *dnstest.Server) { s.Silence("www.example", 0) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, good := dnstest.New(t), dnstest.New(t)
			bad.Add(zone...)
			good.Add(zone...)
			tt.setup(bad)
			r := newResolver(t, Config{Timeout: 50 * time.Millisecond, Attempts: 2}, bad, good)
			res, err := r.Resolve(t.Context(), "www.example")
			if err != nil || len(res.Addresses) != 2 {
				t.Fatalf("Resolve = %+v, %v; want the second server's 2 addresses", res, err)
			}
			// SERVFAIL and REFUSED rule a server out; a timeout
			// does not, but the next server answers first.
			if got := bad.Queries("www.example", dns.TypeA); got != 1 {
				t.Errorf("first server got %d A queries, want 1", got)
			}
		})
	}
}

func TestResolveNXDomainIsFinal(t *testing.T) {
	first, second := dnstest.New(t), dnstest.New(t)
	second.Add("nope.example. 60 IN A 192.0.2.1")
	r := newResolver(t, Config{}, first, second)
	if _, err := r.Resolve(t.Context(), "nope.example"); err == nil {
		t.Error("the second server's answer was used after NXDOMAIN from the first")
	}
	if got := second.Queries("nope.example", dns.TypeA); got != 0 {
		t.Errorf("second server got %d queries, want 0", got)
	}
}

func TestResolveTruncatedFallsBackToTCP(t *testing.T) {
	srv := dnstest.New(t)
	for i := range 100 { // 100 A records do not fit in 1232 bytes
		srv.Add(fmt.Sprintf("big.example. 60 IN A 192.0.2.%d", i+1))
	}
	r := newResolver(t, Config{}, srv)
	res, err := r.Resolve(t.Context(), "big.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Addresses) != 100 {
		t.Errorf("%d addresses, want all 100", len(res.Addresses))
	}
	if got := srv.Queries("big.example", dns.TypeA); got != 2 {
		t.Errorf("server got %d A queries, want 2 (UDP then TCP)", got)
	}
}

func TestResolveIPLiteral(t *testing.T) {
	r := newResolver(t, Config{Servers: []string{"127.0.0.1:9"}})
	for _, host := range []string{"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"} {
		res, err := r.Resolve(t.Context(), host)
		if err != nil {
			t.Fatal(err)
		}
		want := &tlswarden.Resolution{Name: host, Addresses: []tlswarden.Address{{Addr: netip.MustParseAddr(host).Unmap()}}}
		if diff := cmp.Diff(want, res, addrs); diff != "" {
			t.Errorf("%s (-want +got):\n%s", host, diff)
		}
	}
}

func TestResolveSharesQueries(t *testing.T) {
	srv := dnstest.New(t)
	// TTL 0: nothing is cached, so a single query proves it was shared.
	srv.Add("shared.example. 0 IN A 192.0.2.1", "shared.example. 0 IN AAAA 2001:db8::1")
	srv.Delay("shared.example", 0, 200*time.Millisecond)
	r := newResolver(t, Config{Timeout: time.Second}, srv)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			res, err := r.Resolve(t.Context(), "shared.example")
			if err == nil && len(res.Addresses) != 2 {
				err = fmt.Errorf("%d addresses, want 2", len(res.Addresses))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if got := srv.Queries("shared.example", qtype); got != 1 {
			t.Errorf("%d %s queries for 20 concurrent lookups, want 1", got, dns.TypeToString[qtype])
		}
	}
}

func TestResolveSharedQueryOutlivesACaller(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("shared.example. 0 IN A 192.0.2.1")
	srv.Delay("shared.example", 0, 200*time.Millisecond)
	r := newResolver(t, Config{Timeout: time.Second}, srv)
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { _, err := r.Resolve(ctx, "shared.example"); first <- err }()
	time.Sleep(50 * time.Millisecond) // the first caller's query is in flight
	second := make(chan error, 1)
	go func() { _, err := r.Resolve(t.Context(), "shared.example"); second <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	if err := <-second; err != nil {
		t.Errorf("the other caller failed with the first: %v", err)
	}
	if got := srv.Queries("shared.example", dns.TypeA); got != 1 {
		t.Errorf("%d A queries, want 1", got)
	}
}

// clock is a settable time for the cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newClock(r *Resolver) *clock {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	r.now = c.now
	return c
}

func TestResolveCachesForTTL(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(zone...)
	r := newResolver(t, Config{}, srv)
	clk := newClock(r)
	resolve := func(wantA, wantAAAA uint32) {
		t.Helper()
		res, err := r.Resolve(t.Context(), "multi.example")
		if err != nil {
			t.Fatal(err)
		}
		if a, aaaa := res.Addresses[0].TTL, res.Addresses[2].TTL; a != wantA || aaaa != wantAAAA {
			t.Errorf("TTLs A %d, AAAA %d; want %d, %d", a, aaaa, wantA, wantAAAA)
		}
	}
	count := func(wantA, wantAAAA int) {
		t.Helper()
		a, aaaa := srv.Queries("multi.example", dns.TypeA), srv.Queries("multi.example", dns.TypeAAAA)
		if a != wantA || aaaa != wantAAAA {
			t.Errorf("queries A %d, AAAA %d; want %d, %d", a, aaaa, wantA, wantAAAA)
		}
	}
	resolve(300, 120)
	count(1, 1)
	clk.advance(100 * time.Second) // cached: what is left of the TTLs
	resolve(200, 20)
	count(1, 1)
	clk.advance(20 * time.Second) // AAAA expired, A still cached
	resolve(180, 120)
	count(1, 2)
}

func TestResolveCachesNegativeAnswers(t *testing.T) {
	tests := []struct {
		soaTTL uint32
		keep   time.Duration // how long NXDOMAIN is cached
	}{
		{soaTTL: 5, keep: 5 * time.Second},
		{soaTTL: 3600, keep: maxNegativeTTL},
	}
	for _, tt := range tests {
		srv := dnstest.New(t)
		srv.SetNegativeTTL(tt.soaTTL)
		r := newResolver(t, Config{}, srv)
		clk := newClock(r)
		for _, step := range []struct {
			advance time.Duration
			queries int
		}{{0, 1}, {tt.keep - time.Second, 1}, {time.Second, 2}} {
			clk.advance(step.advance)
			if _, err := r.Resolve(t.Context(), "nope.example"); err == nil {
				t.Fatal("NXDOMAIN resolved")
			}
			if got := srv.Queries("nope.example", dns.TypeA); got != step.queries {
				t.Errorf("SOA TTL %d, after %v more: %d queries, want %d", tt.soaTTL, step.advance, got, step.queries)
			}
		}
	}
}

func TestResolveFailuresAreNotCached(t *testing.T) {
	srv := dnstest.New(t)
	srv.Rcode("broken.example", 0, dns.RcodeServerFailure)
	r := newResolver(t, Config{}, srv)
	for range 2 {
		if _, err := r.Resolve(t.Context(), "broken.example"); err == nil {
			t.Fatal("SERVFAIL resolved")
		}
	}
	if got := srv.Queries("broken.example", dns.TypeA); got != 2 {
		t.Errorf("%d queries, want 2", got)
	}
}

func TestResolveHonoursContext(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		outcome tlswarden.Outcome
		is      error
	}{
		{"cancelled", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, tlswarden.OutcomeError, context.Canceled},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 50*time.Millisecond)
		}, tlswarden.OutcomeTimeout, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.New(t)
			srv.Silence("slow.example", 0)
			// Without the context, this would take 5s per query.
			r := newResolver(t, Config{Timeout: 5 * time.Second}, srv)
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			start := time.Now()
			_, err := r.Resolve(ctx, "slow.example")
			if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
				t.Errorf("took %v after the context ended at 50ms", elapsed)
			}
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.Outcome != tt.outcome || !errors.Is(err, tt.is) {
				t.Errorf("error %v, want a *Error with outcome %s wrapping %v", err, tt.outcome, tt.is)
			}
		})
	}
}

func TestNewReadsResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("resolv.conf", "# test\nsearch example.org\nnameserver 127.0.0.1\nnameserver ::1\noptions ndots:2\n")
	r, err := New(Config{ResolvConf: good})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:53", "[::1]:53"}, r.servers); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}

	empty := write("empty.conf", "search example.org\n")
	for _, path := range []string{empty, filepath.Join(dir, "missing.conf")} {
		if _, err := New(Config{ResolvConf: path}); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("New with %s: error %v, want one naming the file", filepath.Base(path), err)
		}
	}
}

func TestNewConfig(t *testing.T) {
	r, err := New(Config{Servers: []string{"127.0.0.1", "127.0.0.1:5353", "[::1]:53"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:53", "127.0.0.1:5353", "[::1]:53"}, r.servers); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if r.udp.Timeout != DefaultTimeout || r.attempts != DefaultAttempts || r.maxCNAME != DefaultMaxCNAME {
		t.Errorf("defaults: timeout %v, attempts %d, max CNAME %d", r.udp.Timeout, r.attempts, r.maxCNAME)
	}

	_, err = New(Config{Servers: []string{"dns.example:53"}, Timeout: -1, Attempts: -1, MaxCNAME: -1})
	want := "resolver config: timeout must not be negative\n" +
		"attempts must not be negative\n" +
		"max CNAME chain length must not be negative\n" +
		`server "dns.example:53" must be an IP address with an optional port`
	if got := errString(err); got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
}

func TestResolveAsksAgainOnlyAfterTimeouts(t *testing.T) {
	srv := dnstest.New(t)
	srv.Rcode("broken.example", dns.TypeA, dns.RcodeServerFailure)
	srv.Silence("broken.example", dns.TypeAAAA)
	r := newResolver(t, Config{Timeout: 50 * time.Millisecond, Attempts: 3}, srv)
	if _, err := r.Resolve(t.Context(), "broken.example"); err == nil {
		t.Fatal("resolved")
	}
	a, aaaa := srv.Queries("broken.example", dns.TypeA), srv.Queries("broken.example", dns.TypeAAAA)
	if a != 1 || aaaa != 3 {
		t.Errorf("queries: A (SERVFAIL) %d, AAAA (timeout) %d; want 1 and 3", a, aaaa)
	}
}

// TestQueryCancelsExchange checks that cancelling ends the exchange in
// progress, not only the wait for it: query runs below the shared flights.
func TestQueryCancelsExchange(t *testing.T) {
	srv := dnstest.New(t)
	srv.Silence("slow.example", 0)
	r := newResolver(t, Config{Timeout: 5 * time.Second}, srv)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.query(ctx, "slow.example.", dns.TypeA)
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("took %v after cancel at 50ms", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestResolveInvalidName(t *testing.T) {
	r := newResolver(t, Config{Servers: []string{"127.0.0.1:9"}}) // never asked
	for _, host := range []string{"", "a..example"} {
		res, err := r.Resolve(t.Context(), host)
		want := "resolve " + host + ": not a valid DNS name"
		if errString(err) != want || res == nil || res.Name != host {
			t.Errorf("Resolve(%q) = %+v, %v; want a resolution and %q", host, res, err, want)
		}
	}
}
