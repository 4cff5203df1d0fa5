package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleDigest() Digest {
	at := time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC)
	return Digest{
		Schema: Schema, DeliveryID: 7, GeneratedAt: at,
		Subscription: SubscriptionRef{ID: 3, Name: "web team", Scope: "owner web"},
		Summary:      "1 regression, 1 certificate expiring soon",
		Counts:       Counts{Regressions: 1, ExpiringCertificates: 1},
		Items: []Item{
			{Kind: ItemEvent, Key: "event:12", EventID: 12, EventKind: "version_added", Regression: true,
				Target: TargetRef{ID: 1, Name: "https://a.example.org:443", Owner: "web"}, Summary: "TLS 1.0 accepted <again> & more",
				Endpoints: []string{"a.example.org/192.0.2.1:443"}, At: at, Link: "https://tlswarden.example/targets/1"},
			{Kind: ItemCertExpiry, Key: "cert:1:ab", Target: TargetRef{ID: 1, Name: "https://a.example.org:443"},
				Summary: "certificate expires 2026-12-20", NotAfter: at.AddDate(0, 0, 13), LeafSHA256: "ab", At: at},
		},
		Link: "https://tlswarden.example/",
	}
}

// receiver is a loopback HTTP server recording what it is sent and
// answering with the statuses it is given, then 200.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*http.Request
	bod [][]byte
	ans []func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, answers ...func(w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{ans: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.got, r.bod = append(r.got, req), append(r.bod, b)
		var a func(http.ResponseWriter)
		if len(r.ans) > 0 {
			a, r.ans = r.ans[0], r.ans[1:]
		}
		r.mu.Unlock()
		if a != nil {
			a(w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, "error from the receiver\n")
	}
}

func fastSender() *Sender { return NewSender(SenderConfig{MinInterval: time.Millisecond}) }

func TestSendWebhookSigned(t *testing.T) {
	r := newReceiver(t)
	const secret = "s3cret-value-for-tests"
	dest := Destination{Channel: ChannelWebhook, URL: r.srv.URL + "/hook/token-in-path", Secret: secret}
	d := sampleDigest()
	if err := fastSender().Send(t.Context(), dest, d); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 {
		t.Fatalf("%d requests, want 1", len(r.got))
	}
	req, body := r.got[0], r.bod[0]
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	if id := req.Header.Get(DeliveryHeader); id != "7" {
		t.Errorf("delivery header %q", id)
	}
	if err := Verify(secret, req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := Verify("other", req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err == nil {
		t.Error("a wrong secret verified")
	}
	if err := Verify(secret, req.Header.Get(SignatureHeader), append(body, ' '), time.Now(), 5*time.Minute); err == nil {
		t.Error("a changed body verified")
	}
	var back Digest
	if err := json.Unmarshal(body, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back); diff != "" {
		t.Errorf("payload (-sent +received):\n%s", diff)
	}
}

func TestVerifyOld(t *testing.T) {
	body := []byte(`{}`)
	sig := Sign("k", time.Unix(1000, 0), body)
	if err := Verify("k", sig, body, time.Unix(1000+600, 0), 5*time.Minute); err == nil {
		t.Error("a signature ten minutes old verified with five minutes' tolerance")
	}
	if err := Verify("k", sig, body, time.Unix(1000+600, 0), 0); err != nil {
		t.Errorf("no tolerance: %v", err)
	}
	if err := Verify("k", "garbage", body, time.Unix(1000, 0), 0); err == nil {
		t.Error("garbage verified")
	}
}

func TestSlackPayload(t *testing.T) {
	r := newReceiver(t)
	dest := Destination{Channel: ChannelSlack, URL: r.srv.URL + "/services/T000/B000/XXXX", Secret: "unused"}
	if err := fastSender().Send(t.Context(), dest, sampleDigest()); err != nil {
		t.Fatal(err)
	}
	if r.got[0].Header.Get(SignatureHeader) != "" {
		t.Error("a Slack message carries a signature")
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string `json:"type"`
			Text     *struct{ Type, Text string }
			Elements []struct{ Type, Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(r.bod[0], &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "1 regression") || len(msg.Blocks) != 4 {
		t.Fatalf("message %s", r.bod[0])
	}
	if msg.Blocks[0].Type != "header" || msg.Blocks[0].Text.Type != "plain_text" {
		t.Errorf("first block %+v", msg.Blocks[0])
	}
	sec := msg.Blocks[1].Text.Text
	if !strings.Contains(sec, "TLS 1.0 accepted &lt;again&gt; &amp; more") || !strings.Contains(sec, "<https://tlswarden.example/targets/1|details>") {
		t.Errorf("section %q: not escaped, or no link", sec)
	}
	if msg.Blocks[3].Type != "context" || !strings.Contains(msg.Blocks[3].Elements[0].Text, "<https://tlswarden.example/|open tlswarden>") {
		t.Errorf("context block %+v", msg.Blocks[3])
	}
}

func TestTeamsPayload(t *testing.T) {
	d := sampleDigest()
	for i := range 40 {
		d.Items = append(d.Items, Item{Kind: ItemEvent, Regression: true, Target: TargetRef{Name: "x"}, Summary: "s" + string(rune('a'+i%26))})
	}
	b, err := Payload(ChannelTeams, d)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string  `json:"contentType"`
			ContentURL  *string `json:"contentUrl"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct{ Type, Text string }
				Actions []struct{ Type, Title, URL string }
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 {
		t.Fatalf("message %s", b)
	}
	a := msg.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version == "" {
		t.Errorf("attachment %s", b)
	}
	// A title, ChatItems items and the count of the rest.
	if n := len(a.Content.Body); n != 1+ChatItems+1 {
		t.Errorf("%d blocks, want %d", n, ChatItems+2)
	}
	if last := a.Content.Body[len(a.Content.Body)-1].Text; last != "and 27 more" {
		t.Errorf("last block %q", last)
	}
	if len(a.Content.Actions) != 1 || a.Content.Actions[0].URL != "https://tlswarden.example/" {
		t.Errorf("actions %+v", a.Content.Actions)
	}
}

func TestSendErrors(t *testing.T) {
	r := newReceiver(t,
		status(http.StatusTooManyRequests, "Retry-After", "7"),
		status(http.StatusServiceUnavailable),
		status(http.StatusInternalServerError),
		status(http.StatusNotFound),
		status(http.StatusFound, "Location", "http://127.0.0.1:1/elsewhere"),
	)
	const secretPath = "/services/T1/B2/very-secret-token"
	dest := Destination{Channel: ChannelSlack, URL: r.srv.URL + secretPath + "?sig=abc123"}
	want := []Error{
		{Status: 429, RetryAfter: 7 * time.Second},
		{Status: 503},
		{Status: 500},
		{Status: 404, Permanent: true},
		{Status: 302, Permanent: true},
	}
	s := fastSender()
	for _, w := range want {
		err := s.Send(t.Context(), dest, sampleDigest())
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v, want an *Error", err)
		}
		if e.Status != w.Status || e.Permanent != w.Permanent || e.RetryAfter != w.RetryAfter {
			t.Errorf("status %d: got %+v", w.Status, e)
		}
		if strings.Contains(err.Error(), "very-secret-token") || strings.Contains(err.Error(), "abc123") {
			t.Errorf("error shows the URL: %v", err)
		}
		if !strings.Contains(err.Error(), "error from the receiver") {
			t.Errorf("error %q does not quote the answer", err)
		}
	}
}

func TestSendRefusedRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens: the dial is refused
	dest := Destination{Channel: ChannelWebhook, URL: "http://user:pa55word@" + addr + "/hook/secret-path?token=zzz", Secret: "the-secret"}
	err = fastSender().Send(t.Context(), dest, sampleDigest())
	var e *Error
	if !errors.As(err, &e) || e.Permanent || e.Status != 0 {
		t.Fatalf("error %v: want a retryable *Error", err)
	}
	for _, s := range []string{"pa55word", "secret-path", "zzz", "the-secret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "http://user:pa55word@"+addr) && !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not say where", err)
	}
}

func TestSendCanceledWhileWaiting(t *testing.T) {
	r := newReceiver(t)
	s := NewSender(SenderConfig{MinInterval: time.Hour})
	dest := Destination{Channel: ChannelWebhook, URL: r.srv.URL}
	if err := s.Send(t.Context(), dest, sampleDigest()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, dest, sampleDigest()); !errors.Is(err, context.Canceled) {
		t.Errorf("second send within the interval, canceled: %v", err)
	}
	if len(r.got) != 1 {
		t.Errorf("%d requests, want 1", len(r.got))
	}
}

func TestRefuseSpecial(t *testing.T) {
	for addr, refused := range map[string]bool{
		"169.254.169.254:80": true, "[fe80::1]:443": true, "0.0.0.0:80": true, "[::]:80": true,
		"224.0.0.1:80": true, "[fd00:ec2::254]:80": true, "[::ffff:169.254.169.254]:80": true,
		"127.0.0.1:8080": false, "10.1.2.3:443": false, "[::1]:443": false, "192.0.2.1:443": false,
	} {
		if err := refuseSpecial("tcp", addr, nil); (err != nil) != refused {
			t.Errorf("%s: %v, want refused %v", addr, err, refused)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, "-3": 0, "junk": 0, "99999": MaxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/XXX":                        "https://hooks.slack.com/…",
		"https://prod-1.westeurope.logic.azure.com:443/workflows/a?sig=abc": "https://prod-1.westeurope.logic.azure.com:443/…",
		"https://user:pw@receiver.example/":                                 "https://receiver.example",
		"http://127.0.0.1:9/":                                               "http://127.0.0.1:9",
		"::not a url":                                                       "(unparsable URL)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	for in, ok := range map[string]bool{
		"https://hooks.slack.com/services/x": true, "http://127.0.0.1:8080/hook": true,
		"ftp://x/": false, "https:///path": false, "hooks.slack.com/x": false, "https://x/#frag": false,
	} {
		if err := Check(in); (err == nil) != ok {
			t.Errorf("Check(%q) = %v", in, err)
		}
	}
}
