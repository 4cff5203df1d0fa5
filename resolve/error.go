package resolve

import (
	"errors"

	"github.com/tlswarden/tlswarden"
)

// Errors found in a CNAME chain; an *Error wraps them.
var (
	ErrCNAMELoop    = errors.New("CNAME loop")
	ErrCNAMETooLong = errors.New("CNAME chain too long")
)

// errInvalidName is wrapped for a host that cannot be asked for at all.
var errInvalidName = errors.New("not a valid DNS name")

// Error reports a name that resolved to no address at all. Outcome is the
// reason that explains it best: nxdomain when the name does not exist,
// nodata when it has neither A nor AAAA records, otherwise the failure of one
// of the queries. Err, when set, is the underlying cause (a network error, a
// CNAME error, or the context's error when the caller gave up).
type Error struct {
	Name    string
	Outcome tlswarden.Outcome
	Err     error
}

func (e *Error) Error() string {
	msg := "resolve " + e.Name + ": "
	switch {
	case e.Outcome == tlswarden.OutcomeError && e.Err != nil:
		return msg + e.Err.Error()
	case e.Err != nil:
		return msg + describe(e.Outcome) + ": " + e.Err.Error()
	}
	return msg + describe(e.Outcome)
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// describe names an outcome the way people who run DNS say it.
func describe(o tlswarden.Outcome) string {
	switch o {
	case tlswarden.OutcomeNXDomain:
		return "NXDOMAIN"
	case tlswarden.OutcomeNoData:
		return "no A or AAAA records"
	case tlswarden.OutcomeServFail:
		return "SERVFAIL"
	case tlswarden.OutcomeRefused:
		return "REFUSED"
	case tlswarden.OutcomeTimeout:
		return "timeout"
	}
	return "error"
}

// failure chooses the error for a name with no address from the per-type
// results: NXDOMAIN is authoritative, so it wins; then any failure, which
// may be why a type found nothing; NODATA only when every type said so.
func failure(host string, results []chased) *Error {
	for _, c := range results {
		if c.outcome == tlswarden.OutcomeNXDomain {
			return &Error{Name: host, Outcome: c.outcome}
		}
	}
	for _, c := range results {
		if c.outcome != tlswarden.OutcomeNoData && c.outcome != tlswarden.OutcomeOK {
			return &Error{Name: host, Outcome: c.outcome, Err: c.err}
		}
	}
	return &Error{Name: host, Outcome: tlswarden.OutcomeNoData}
}
