package resolve

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tlswarden/tlswarden/internal/dnstest"
)

// Queries are spaced at QueriesPerSecond, across concurrent lookups;
// answers from the cache are not.
func TestResolveQueryRate(t *testing.T) {
	srv := dnstest.New(t)
	const names = 5
	for i := range names {
		srv.Add(fmt.Sprintf("n%d.example. 300 IN A 192.0.2.%d", i, i+1), fmt.Sprintf("n%d.example. 300 IN AAAA 2001:db8::%d", i, i+1))
	}
	r := newResolver(t, Config{QueriesPerSecond: 20, Timeout: 5 * time.Second}, srv)
	resolveAll := func() {
		var wg sync.WaitGroup
		for i := range names {
			wg.Go(func() {
				if _, err := r.Resolve(t.Context(), fmt.Sprintf("n%d.example", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	resolveAll()
	// 10 queries at 20 a second: the last leaves 9 × 50 ms after the first.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("10 queries at 20 a second took %s, want at least 450ms", d)
	}
	resolveAll()
	for i := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if n := srv.Queries(fmt.Sprintf("n%d.example", i), qt); n != 1 {
				t.Errorf("n%d.example %s asked %d times, want once (then cached)", i, dns.TypeToString[qt], n)
			}
		}
	}
}

// A full cache keeps caching: the newest answer is kept, the size stays at
// the cap, and a put does not sweep the whole cache each time.
func TestCacheFull(t *testing.T) {
	c := newCache()
	now := time.Unix(1_000_000, 0)
	a := answer{records: []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}}}}
	key := func(i int) cacheKey { return cacheKey{name: fmt.Sprintf("n%d.example.", i), qtype: dns.TypeA} }
	for i := range maxCacheEntries + 500 {
		c.put(key(i), a, now)
	}
	if len(c.m) != maxCacheEntries {
		t.Errorf("%d entries, want the cap %d", len(c.m), maxCacheEntries)
	}
	if _, ok := c.get(key(maxCacheEntries+499), now); !ok {
		t.Error("the newest answer was not cached")
	}
	if !c.swept.Equal(now) {
		t.Errorf("last sweep at %s, want %s (one sweep for 500 puts within a second)", c.swept, now)
	}
	// Expired entries go at the next sweep, a second later.
	later := now.Add(time.Hour)
	c.put(key(-1), a, later)
	if len(c.m) != 1 {
		t.Errorf("%d entries after the sweep, want only the new one", len(c.m))
	}
}
