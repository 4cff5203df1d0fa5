package resolve

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxCacheEntries bounds the cache of a long-lived Resolver. When it is
// full, expired entries are dropped, and new answers are not cached until
// there is room again.
const maxCacheEntries = 10000

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
	mu sync.Mutex
	m  map[cacheKey]cacheEntry
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
	if len(c.m) >= maxCacheEntries {
		c.dropExpired(now)
		if len(c.m) >= maxCacheEntries {
			return
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
