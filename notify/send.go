package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
)

// Defaults of SenderConfig.
const (
	DefaultTimeout     = 15 * time.Second
	DefaultMinInterval = time.Second
	// MaxRetryAfter caps a receiver's Retry-After.
	MaxRetryAfter = time.Hour
)

// maxResponse bounds how much of a receiver's answer is read; errorSnippet
// how much of it an error quotes.
const (
	maxResponse  = 64 << 10
	errorSnippet = 200
)

// SenderConfig configures a Sender; its zero value works.
type SenderConfig struct {
	// Timeout bounds one request, from dial to the end of the response
	// (default DefaultTimeout).
	Timeout time.Duration
	// MinInterval is the least time between two requests to one receiver
	// (one URL) from this process (default DefaultMinInterval: Slack's
	// documented rate for an incoming webhook is one message a second).
	MinInterval time.Duration
	// UserAgent is sent with every request (default "tlswarden").
	UserAgent string
	// Now is the clock signatures are made with (default time.Now).
	Now func() time.Time
}

// Sender posts digests. It is safe for concurrent use.
//
// Webhook receivers are the organisation's own choice, made by an
// administrator, and are often internal (a chat relay, an incident tool):
// the scanner's scope does not apply to them. Link-local, multicast and
// unspecified addresses are refused all the same (a cloud's metadata
// service lives at a link-local address), redirects are not followed, and
// the proxy of the environment (HTTPS_PROXY, NO_PROXY) is used, as
// egress to Slack and Teams often requires.
type Sender struct {
	cfg    SenderConfig
	client *http.Client

	mu   sync.Mutex
	next map[[32]byte]time.Time // per receiver: the earliest next request
}

// NewSender returns a Sender.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "tlswarden"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: refuseSpecial}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{
		cfg: cfg,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		next: map[[32]byte]time.Time{},
	}
}

// refuseSpecial refuses addresses no webhook receiver has.
func refuseSpecial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("notify: dial %s: %w", address, err)
	}
	a := ap.Addr().Unmap()
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsUnspecified() ||
		a == netip.MustParseAddr("fd00:ec2::254") {
		return fmt.Errorf("notify: %s is not an address a webhook receiver has", a)
	}
	return nil
}

// Error is a delivery that failed: what the receiver answered, and
// whether and when trying again makes sense. Its text never holds the
// URL or the secret.
type Error struct {
	// Status is the receiver's HTTP status, 0 when none came.
	Status int
	// Permanent is true when trying again cannot help (a 4xx other than
	// 408, 425 and 429; a redirect).
	Permanent bool
	// RetryAfter is the receiver's Retry-After, on a 429 or 503 that had
	// one; 0 otherwise.
	RetryAfter time.Duration
	msg        string
	err        error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Send posts d to dest, waiting first for the receiver's turn (see
// SenderConfig.MinInterval). It returns nil when the receiver accepted
// it (any 2xx), else an *Error, or ctx's error while waiting.
func (s *Sender) Send(ctx context.Context, dest Destination, d Digest) error {
	body, err := Payload(dest.Channel, d)
	if err != nil {
		return err
	}
	if err := s.wait(ctx, dest.URL); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.URL, bytes.NewReader(body))
	if err != nil {
		return &Error{Permanent: true, msg: "notify: " + redactText(err.Error(), dest), err: redactError(err, dest)}
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return &Error{Permanent: true, msg: fmt.Sprintf("notify: URL scheme %q: want https or http", req.URL.Scheme)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	if d.DeliveryID != 0 {
		req.Header.Set(DeliveryHeader, strconv.FormatInt(d.DeliveryID, 10))
	}
	if dest.Channel == ChannelWebhook && dest.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(dest.Secret, s.cfg.Now(), body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		red := redactError(err, dest)
		return &Error{msg: "notify: post to " + RedactURL(dest.URL) + ": " + red.Error(), err: red}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	return classify(resp, answer, dest)
}

// classify turns a receiver's answer into nil or an *Error.
func classify(resp *http.Response, answer []byte, dest Destination) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	e := &Error{Status: code}
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500:
	default:
		e.Permanent = true // 3xx (not followed) and the other 4xx
	}
	e.msg = fmt.Sprintf("notify: %s answered %s", RedactURL(dest.URL), resp.Status)
	if snip := snippet(answer); snip != "" {
		e.msg += ": " + redactText(snip, dest)
	}
	if e.RetryAfter > 0 {
		e.msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return e
}

// retryAfter reads a Retry-After value, seconds or an HTTP date, capped at
// MaxRetryAfter; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// snippet returns the start of a receiver's answer as one printable line.
func snippet(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, string(b))
	return truncate(strings.Join(strings.Fields(s), " "), errorSnippet)
}

// wait blocks until the receiver at rawURL may get another request.
func (s *Sender) wait(ctx context.Context, rawURL string) error {
	key := sha256.Sum256([]byte(rawURL))
	now := time.Now()
	s.mu.Lock()
	at := s.next[key]
	if at.Before(now) {
		at = now
	}
	s.next[key] = at.Add(s.cfg.MinInterval)
	if len(s.next) > 1000 {
		for k, t := range s.next {
			if t.Before(now) {
				delete(s.next, k)
			}
		}
	}
	s.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("notify: waiting for the receiver's turn: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Check says why a subscription's URL cannot be used, or nil: it must be
// an absolute http or https URL with a host.
func Check(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("scheme %q: want https (or http)", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return errors.New("no host")
	case u.Fragment != "":
		return errors.New("a fragment is never sent")
	}
	return nil
}
