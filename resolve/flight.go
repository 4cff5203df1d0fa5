package resolve

import (
	"context"
	"sync"

	"golang.org/x/sync/singleflight"
)

// flights lets concurrent lookups of one key share one query. The query
// runs on a context of its own, detached from any one caller's, so that a
// caller giving up does not fail the others; it is cancelled when the last
// caller waiting for it has gone.
type flights struct {
	group singleflight.Group
	mu    sync.Mutex
	m     map[string]*flight // the flight the group runs for each key
}

// flight is one query in progress.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// do runs fn for key, or waits for the run already in progress, until ctx
// is done.
func (fs *flights) do(ctx context.Context, key string, fn func(context.Context) (answer, error)) (answer, error) {
	f, ch := fs.join(ctx, key, fn)
	select {
	case res := <-ch:
		fs.leave(key, f)
		if res.Err != nil {
			return answer{}, res.Err
		}
		return res.Val.(answer), nil
	case <-ctx.Done():
		fs.leave(key, f)
		return answer{}, ctx.Err()
	}
}

// join counts the caller as a waiter of key's flight, starting one if none
// is running. The group and fs.m change together under fs.mu, so a key's
// entry in fs.m is always the flight the group runs.
func (fs *flights) join(ctx context.Context, key string, fn func(context.Context) (answer, error)) (*flight, <-chan singleflight.Result) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f := fs.m[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{ctx: fctx, cancel: cancel}
		fs.m[key] = f
	}
	f.waiters++
	ch := fs.group.DoChan(key, func() (any, error) {
		a, err := fn(f.ctx)
		fs.end(key, f)
		return a, err
	})
	return f, ch
}

// leave uncounts a waiter; the last one to leave cancels the flight.
func (fs *flights) leave(key string, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		fs.forget(key, f)
	}
}

// end retires a flight whose query has returned.
func (fs *flights) end(key string, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.forget(key, f)
}

// forget cancels f and, if it is still key's flight, removes it from the
// group so that the next caller starts afresh; fs.mu is held.
func (fs *flights) forget(key string, f *flight) {
	f.cancel()
	if fs.m[key] == f {
		delete(fs.m, key)
		fs.group.Forget(key)
	}
}
