package tlswarden

import "context"

// Some checks send what a fragile appliance or an IDS may take badly (an
// over-long heartbeat, an early ChangeCipherSpec, Bleichenbacher's
// premaster secrets). They can be turned off for a whole scan by the
// probe's configuration (--no-intrusive, a profile's intrusive_checks:
// false) and for one target by the registry; the scan of such a target
// carries the mark in its context, so that every probe that has
// intrusive checks sees it without the scanner knowing which those are.

type noIntrusiveKey struct{}

// WithoutIntrusiveChecks returns ctx marked so that the probes run under it
// skip their intrusive checks.
func WithoutIntrusiveChecks(ctx context.Context) context.Context {
	return context.WithValue(ctx, noIntrusiveKey{}, true)
}

// IntrusiveChecksOff reports whether ctx was marked by
// WithoutIntrusiveChecks.
func IntrusiveChecksOff(ctx context.Context) bool {
	off, _ := ctx.Value(noIntrusiveKey{}).(bool)
	return off
}
