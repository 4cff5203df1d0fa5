package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/miekg/dns"
	"github.com/tlswarden/tlswarden"
)

// ednsSize is the EDNS0 UDP payload size offered: the DNS Flag Day 2020
// value, small enough to avoid IP fragmentation on common paths.
const ednsSize = 1232

// queryError is a query that got no final answer from any server.
type queryError struct {
	outcome tlswarden.Outcome
	server  string // the last server asked
	err     error  // the cause, nil for an rcode such as SERVFAIL
	retry   bool   // the server may answer if asked again
}

func (e *queryError) Error() string {
	msg := describe(e.outcome) + " from " + e.server
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *queryError) Unwrap() error { return e.err }

// lookup returns the answer for name and type: from the cache, from a query
// already in flight, or from a new query.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (answer, error) {
	k := cacheKey{name: name, qtype: qtype}
	if a, ok := r.cache.get(k, r.now()); ok {
		return a, nil
	}
	return r.flights.do(ctx, k.String(), func(ctx context.Context) (answer, error) {
		// A flight that ended between the check above and this one
		// may have filled the cache.
		if a, ok := r.cache.get(k, r.now()); ok {
			return a, nil
		}
		a, err := r.query(ctx, name, qtype)
		if err == nil {
			r.cache.put(k, a, r.now())
		}
		return a, err
	})
}

// query asks the servers in order, for up to r.attempts rounds, until one
// gives a final answer (NOERROR or NXDOMAIN). A server that answered with
// another rcode is not asked again; one that timed out or failed at the
// network level is, in the next round.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (answer, error) {
	var last *queryError
	skip := make([]bool, len(r.servers))
	for range r.attempts {
		for i, server := range r.servers {
			if skip[i] {
				continue
			}
			ans, qerr := r.ask(ctx, server, name, qtype)
			if qerr == nil {
				return ans, nil
			}
			if err := ctx.Err(); err != nil {
				return answer{}, fmt.Errorf("query %s %s: %w", bare(name), dns.TypeToString[qtype], err)
			}
			r.log.Debug("dns query failed", "name", bare(name), "type", dns.TypeToString[qtype],
				"server", server, "outcome", qerr.outcome, "err", qerr.err)
			last, skip[i] = qerr, !qerr.retry
		}
	}
	return answer{}, last
}

// ask sends one query to one server: over UDP, and again over TCP when the
// UDP answer is truncated.
func (r *Resolver) ask(ctx context.Context, server, name string, qtype uint16) (answer, *queryError) {
	if err := r.pace.Wait(ctx); err != nil {
		return answer{}, &queryError{outcome: tlswarden.OutcomeTimeout, server: server, err: fmt.Errorf("waiting for the query rate: %w", err)}
	}
	m := new(dns.Msg).SetQuestion(name, qtype)
	m.SetEdns0(ednsSize, false)
	// AD in a query asks a validating resolver to say whether it
	// authenticated the answer (RFC 6840 §5.7), without DNSSEC records.
	m.AuthenticatedData = true
	resp, err := exchange(ctx, r.udp, m, server)
	if err == nil && resp.Truncated {
		resp, err = exchange(ctx, r.tcp, m, server)
	}
	if err != nil {
		return answer{}, &queryError{outcome: netOutcome(err), server: server, err: err, retry: true}
	}
	return classify(resp, m, server)
}

// exchange sends m to server and reads the reply. Cancelling ctx closes
// the connection, so that the read in progress ends at once.
func exchange(ctx context.Context, c *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

// classify turns a reply into an answer, or into the failure it reports.
// Only a reply that is used is checked against the question: failures may
// come without one.
func classify(resp, q *dns.Msg, server string) (answer, *queryError) {
	fail := func(o tlswarden.Outcome, err error, retry bool) (answer, *queryError) {
		return answer{}, &queryError{outcome: o, server: server, err: err, retry: retry}
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		if !sameQuestion(resp, q) {
			return fail(tlswarden.OutcomeError, errors.New("reply to another question"), true)
		}
		return newAnswer(resp), nil
	case dns.RcodeServerFailure:
		return fail(tlswarden.OutcomeServFail, nil, false)
	case dns.RcodeRefused:
		return fail(tlswarden.OutcomeRefused, nil, false)
	}
	return fail(tlswarden.OutcomeError, fmt.Errorf("rcode %s", dns.RcodeToString[resp.Rcode]), false)
}

func sameQuestion(resp, q *dns.Msg) bool {
	return len(resp.Question) == 1 && strings.EqualFold(resp.Question[0].Name, q.Question[0].Name) &&
		resp.Question[0].Qtype == q.Question[0].Qtype
}

// netOutcome classifies an exchange that failed without a reply.
func netOutcome(err error) tlswarden.Outcome {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return tlswarden.OutcomeTimeout
	}
	return tlswarden.OutcomeError
}
