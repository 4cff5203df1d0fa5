package jobs

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// sslv2TTL is how long a process reuses the estate's SSLv2 keys read for
// one scan job for the next ones.
const sslv2TTL = 30 * time.Second

// sslv2Keys caches the RSA keys of the estate's SSLv2 endpoints (DROWN)
// for a process's scan jobs. Reading them visits every target's latest
// scan: at 10,000 targets about 100 ms of the embedded store's CPU, which
// every job of a run paid again, so a run's cost grew with the square of
// the estate. A process forgets them after sslv2TTL, and at once when it
// stores a scan that changes them (an endpoint accepting SSLv2, or a
// target that had one), so its own scans are judged on what it stored; a
// scan stored by another process is seen within sslv2TTL.
type sslv2Keys struct {
	mu   sync.Mutex
	keys []store.SSLv2Key
	at   time.Time // zero: nothing cached
}

// leaves returns the estate's SSLv2 leaves except the target's own, as
// store.SSLv2Leaves does.
func (c *sslv2Keys) leaves(ctx context.Context, st store.Store, now time.Time, except int64) (map[string]string, error) {
	ks, ok := st.(store.SSLv2KeyStore)
	if !ok {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) >= sslv2TTL || now.Before(c.at) {
		keys, err := ks.ListSSLv2Keys(ctx)
		if err != nil {
			return nil, err
		}
		c.keys, c.at = keys, now
	}
	return store.SSLv2LeavesOf(c.keys, except), nil
}

// stored forgets the keys when a stored scan of target changes them: it
// found an endpoint accepting SSLv2, or the target had one before.
func (c *sslv2Keys) stored(target int64, r *tlswarden.Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	had := slices.ContainsFunc(c.keys, func(k store.SSLv2Key) bool { return k.TargetID == target })
	if had || slices.ContainsFunc(r.Endpoints, acceptsSSLv2) {
		c.at = time.Time{}
	}
}

func acceptsSSLv2(e tlswarden.EndpointReport) bool {
	return e.TLS != nil && e.TLS.Supported(tlswarden.SSLv2)
}
