package resolve

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxCacheEntries bounds the cache of a long-lived Resolver. When it is
// full, expired entries are dropped (at most once a second: a sweep reads
// every entry) and, when none has expired, one entry chosen at random
// makes room: a scan of an estate larger than the cache keeps caching the
// names it meets, and a put stays cheap.
const maxCacheEntries = 10000

// sweepEvery is the least time between two sweeps of a full cache.
const sweepEvery = time.Second

// cacheKey names one query: a fully qualified lower-case name and a type.
type cacheKey struct {
	name  string
	qtype uint16
}

func (k cacheKey) String() string { return k.name + " " + dns.TypeToString[k.qtype] }

type cacheEntry struct {
	ans      answer
	received time.Time
	expires  time.Time
}

// cache holds answers until their TTL runs out.
type cache struct {
	mu    sync.Mutex
	m     map[cacheKey]cacheEntry
	swept time.Time // the last sweep of a full cache
}

func newCache() *cache { return &cache{m: make(map[cacheKey]cacheEntry)} }

// get returns the unexpired answer for k, with its age set so that the TTLs
// it reports are what is left of them.
func (c *cache) get(k cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return answer{}, false
	}
	e.ans.age = uint32(max(0, now.Sub(e.received)) / time.Second)
	return e.ans, true
}

// put stores a, received at now, for its cache TTL.
func (c *cache) put(k cacheKey, a answer, now time.Time) {
	ttl := a.cacheTTL()
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, replacing := c.m[k]
	if !replacing && len(c.m) >= maxCacheEntries && now.Sub(c.swept) >= sweepEvery {
		c.swept = now
		c.dropExpired(now)
	}
	if !replacing && len(c.m) >= maxCacheEntries {
		for victim := range c.m { // map order is random
			delete(c.m, victim)
			break
		}
	}
	c.m[k] = cacheEntry{ans: a, received: now, expires: now.Add(ttl)}
}

// dropExpired deletes the entries expired at now; c.mu is held.
func (c *cache) dropExpired(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
}
