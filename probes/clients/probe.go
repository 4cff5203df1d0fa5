// Package clients is the client simulation: for a list of real clients
// (browsers, operating systems, Java, OpenSSL, mail clients, crawlers),
// whether each connects to an endpoint, with which version, suite, group
// and certificate, or why not.
//
// The list (data/clients.json) is converted from the client hellos that
// Debian's testssl.sh package ships, and names its source. The answers
// are computed from the endpoint's enumerated facts (Simulate) where they
// decide them; where they do not (the server's order among several
// suites or groups was not determined, a version was not tested), the
// client's own recorded hello is sent, once per such client and up to a
// budget, and the ServerHello read (Probe). See docs/client-simulation.md.
package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// ProbeName is the client simulation probe's name in reports.
const ProbeName = "clients"

// DefaultMaxHellos is how many clients' own hellos one endpoint gets at
// most when Config.MaxHellos is zero.
const DefaultMaxHellos = 16

// HelloParallel is how many clients' hellos are in flight at once to one
// endpoint: over a real network each costs a connect and a round trip,
// and 16 of them one after the other would cost 32 round trips.
const HelloParallel = 4

// Config configures the client simulation. Its zero value works.
type Config struct {
	// Clients names the clients simulated, by ID; empty means
	// DefaultClients. Unknown IDs are ignored.
	Clients []string
	// MaxHellos bounds the clients' own hellos sent to one endpoint
	// (default DefaultMaxHellos); a negative value sends none, so every
	// answer is computed or estimated.
	MaxHellos int
	// Timeout bounds each hello's connection (default 5s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// DefaultClients returns the IDs simulated by default: the clients the
// source marks current, and the old ones still found in health estates
// that it does not (Android 4.4, Java 8 of 2016).
func DefaultClients() []string {
	var ids []string
	for _, c := range Load().Clients {
		if c.Current || slices.Contains(healthEstate, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// healthEstate are the clients beyond the source's current ones that
// are simulated by default.
var healthEstate = []string{"android_442", "android_500", "java_8u111"}

func (cfg Config) withDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxHellos == 0 {
		cfg.MaxHellos = DefaultMaxHellos
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Clients) == 0 {
		cfg.Clients = DefaultClients()
	}
	return cfg
}

// Probe returns the client simulation. It derives its answers from the
// TLS and certificate probes' facts, and opens at most MaxHellos
// connections.
func Probe(cfg Config) tlswarden.Probe {
	cfg = cfg.withDefaults()
	return tlswarden.Probe{
		Name:    ProbeName,
		Timeout: time.Duration(max(cfg.MaxHellos, 1)+1) * cfg.Timeout,
		Derive: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc, facts *tlswarden.EndpointReport) (tlswarden.Observation, error) {
			res, err := run(ctx, cfg, dial, facts)
			return tlswarden.Observation{Clients: res}, err
		},
	}
}

// run simulates every configured client against the endpoint. The
// clients whose answer the facts leave open get their own hello, up to
// MaxHellos in the order of the list, HelloParallel at a time (the
// scanner's per-endpoint cap still bounds the connections).
func run(ctx context.Context, cfg Config, dial tlswarden.DialFunc, er *tlswarden.EndpointReport) (*tlswarden.ClientsResult, error) {
	if er.TLS == nil {
		return nil, errors.New("no TLS facts to simulate clients from (the TLS probe did not run or failed)")
	}
	cfg = cfg.withDefaults()
	list := Load()
	var cs []*Client
	for _, id := range cfg.Clients {
		if c := list.Client(id); c != nil {
			cs = append(cs, c)
		}
	}
	res := &tlswarden.ClientsResult{Source: list.Source, Clients: make([]tlswarden.ClientResult, len(cs))}
	conns := make([]int, len(cs)) // per client, so that the hellos count apart
	var wg sync.WaitGroup
	sem := make(chan struct{}, HelloParallel)
	for i, c := range cs {
		a := Simulate(c, er)
		res.Clients[i] = a.Result
		switch {
		case len(a.Open) == 0:
		case res.Hellos >= cfg.MaxHellos || ctx.Err() != nil:
			res.Clients[i].Uncertain = append(a.Result.Uncertain, "the client's hello was not sent: the budget of hellos was spent")
		default:
			res.Hellos++
			out := &res.Clients[i]
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				*out = sendHello(ctx, cfg, dial, c, er, a, &conns[i])
				cfg.Logger.Debug("client hello sent", "endpoint", er.Endpoint.String(), "client", c.ID, "connects", out.Connects)
			})
		}
	}
	wg.Wait()
	for _, n := range conns {
		res.Connections += n
	}
	return res, nil
}

// sendHello sends the client's own hello and settles the answer from the
// server's: a ServerHello gives the version, suite and group; an alert or
// a connection closed without an answer is a refusal. When no answer
// comes (a timeout) the estimate stands.
func sendHello(ctx context.Context, cfg Config, dial tlswarden.DialFunc, c *Client, er *tlswarden.EndpointReport, a Answer, conns *int) tlswarden.ClientResult {
	f, err := exchange(ctx, cfg, dial, c, er.Endpoint.Host, conns)
	res := tlswarden.ClientResult{ID: c.ID, Name: c.Name, Services: slices.Clone(c.Services), Method: tlswarden.ClientHello, Uncertain: a.Open}
	switch {
	case f != nil && f.ServerHello != nil: // a HelloRetryRequest names the suite and group too
		sh := f.ServerHello
		group, dhBits := answerGroup(sh, f.KeyExchange)
		Settle(c, er, &res, tlswarden.Version(sh.Version), sh.CipherSuite, group, dhBits)
	case refusal(err):
		res.Reason, res.Detail = tlswarden.ClientRefused, "the server refused the client's hello: "+err.Error()
	default:
		res = a.Result
		res.Uncertain = append(res.Uncertain, fmt.Sprintf("the client's hello got no answer: %v", err))
	}
	return res
}

// exchange sends the client's hello, rewritten for the endpoint's name,
// on one connection bounded by Timeout and ctx, and reads the server's
// flight up to its key exchange.
func exchange(ctx context.Context, cfg Config, dial tlswarden.DialFunc, c *Client, host string, conns *int) (*hello.Flight, error) {
	raw, err := c.HelloBytes()
	if err != nil {
		return nil, err
	}
	if raw, err = ForServer(raw, host); err != nil {
		return nil, fmt.Errorf("client %s: %w", c.ID, err)
	}
	*conns++
	conn, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(raw); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	return hello.ReadServerFlight(conn, hello.ReadOptions{KeyExchange: true})
}

// refusal reports an answer that refuses the client: an alert, or the
// connection closed or reset before any ServerHello. A timeout is no
// answer.
func refusal(err error) bool {
	var alert *hello.AlertError
	var nerr net.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &alert):
		return true
	case errors.As(err, &nerr) && nerr.Timeout():
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || tlswarden.StatusOf(err) == tlswarden.StatusReset
}

// answerGroup is the group of the server's answer: the curve of its
// ServerKeyExchange, the TLS 1.3 key share's (or the one a
// HelloRetryRequest asks for), and the DH prime's size for DHE.
func answerGroup(sh *hello.ServerHello, kx *hello.KeyExchange) (string, int) {
	switch {
	case sh.KeyShareGroup != 0:
		return iana.GroupName(sh.KeyShareGroup), 0
	case kx == nil:
		return "", 0
	case kx.CurveType != 0:
		return iana.GroupName(kx.Curve), 0
	}
	if code, ok := iana.FFDHEGroup(kx.DHPrime); ok {
		return iana.GroupName(code), kx.DHBits
	}
	return "", kx.DHBits
}
