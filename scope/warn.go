package scope

import (
	"net/netip"
	"sync"
)

// WarnOnly is a scope that refuses nothing: it calls Warn once for each
// address that Policy would refuse, and lets the connection go ahead. The
// scan command uses it when a person runs it without a scope, so that
// scanning an internal address is allowed but never silent.
type WarnOnly struct {
	Policy Policy
	Warn   func(addr netip.Addr, refusal error)

	seen sync.Map // netip.Addr -> bool: already warned about
}

// Check always returns nil, after warning about a refused address the
// first time it is seen. It is safe for concurrent use.
func (w *WarnOnly) Check(addr netip.Addr) error {
	err := w.Policy.Check(addr)
	if err == nil || w.Warn == nil {
		return nil
	}
	if _, dup := w.seen.LoadOrStore(addr, true); !dup {
		w.Warn(addr, err)
	}
	return nil
}
