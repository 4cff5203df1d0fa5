package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/store"
)

// screenshotsEnv names a directory the browser test writes its
// screenshots to instead of a temporary one: `make screenshots` points it
// at docs/screenshots.
const screenshotsEnv = "TLSWARDEN_SCREENSHOTS"

// TestBrowserPages drives Debian's Chromium, headless, through the pages
// of `serve --demo --auth-reads` as a person would: sign in with a read
// token, look at the estate, follow the link to the legacy endpoint's
// report and check what it shows (the grade, the TLS 1.0 finding, the
// waiver), then open its history. It writes a screenshot of each page.
func TestBrowserPages(t *testing.T) {
	chromium := testenv.Binary(t, "chromium")
	dataDir := t.TempDir()
	secret := createToken(t, []string{"--data-dir", dataDir}, "browser", "read")
	m := startDemo(t, dataDir)
	legacy := waitForDemoScan(t, m.URL(), secret, "demo:legacy")

	shots := os.Getenv(screenshotsEnv)
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if shots == "" {
		shots = t.TempDir()
	}
	ctx := newBrowser(t, chromium)
	browse(t, ctx, "open the estate", chromedp.Navigate(m.URL()+"/"))
	browse(t, ctx, "wait for the sign-in form", chromedp.WaitVisible(chromedp.CSS("#token")))
	browse(t, ctx, "type the token", chromedp.SendKeys(chromedp.CSS("#token"), secret))
	browse(t, ctx, "submit", chromedp.Submit(chromedp.CSS("#token")))
	browse(t, ctx, "wait for the estate", chromedp.WaitVisible(chromedp.CSS("#endpoints-h")))
	title := read(t, ctx, "the estate's title", chromedp.Title())
	estate := read(t, ctx, "the estate", chromedp.Text(chromedp.CSS("main")))
	screenshot(t, ctx, filepath.Join(shots, "estate.png"))
	if title != "Estate · tlswarden" || !strings.Contains(estate, "Below TLS 1.2") || !strings.Contains(estate, "accept TLS 1.1 or older") {
		t.Errorf("estate page %q:\n%s", title, estate)
	}
	// The keyboard reaches the skip link first.
	browse(t, ctx, "press Tab", chromedp.KeyEvent("\t"))
	if focused := read(t, ctx, "the focused element", chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != "Skip to content" {
		t.Errorf("the first Tab focuses %q, want the skip link", focused)
	}
	target := "/targets/" + strconv.FormatInt(legacy.ID, 10)
	browse(t, ctx, "follow the link to the legacy endpoint's report",
		chromedp.Click(chromedp.CSS(`a[href="`+target+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("section.endpoint")),
	)
	report := strings.Join(strings.Fields(read(t, ctx, "the report", chromedp.Text(chromedp.CSS("main")))), " ")
	screenshot(t, ctx, filepath.Join(shots, "report.png"))
	for _, want := range []string{"Grade C", "tls.version.min", "accepts TLSv1.0", "Waived until", "demo: an accepted exception", "insecure"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not show %q:\n%s", want, report)
		}
	}
	browse(t, ctx, "open the waivers",
		chromedp.Click(chromedp.CSS(`a[href="/waivers"]`)),
		chromedp.WaitVisible(chromedp.CSS("#audit-h")),
	)
	waiversPage := strings.Join(strings.Fields(read(t, ctx, "the waivers", chromedp.Text(chromedp.CSS("main")))), " ")
	screenshot(t, ctx, filepath.Join(shots, "waivers.png"))
	if !strings.Contains(waiversPage, "active") || !strings.Contains(waiversPage, "demo approver") || !strings.Contains(waiversPage, "approved demo approver") {
		t.Errorf("waivers page:\n%s", waiversPage)
	}
	browse(t, ctx, "back to the report", chromedp.Navigate(m.URL()+target))
	browse(t, ctx, "open the history",
		chromedp.Click(chromedp.CSS(`a[href="`+target+`/history"]`)),
		chromedp.WaitVisible(chromedp.CSS("#events-h")),
	)
	history := read(t, ctx, "the history", chromedp.Text(chromedp.CSS("main")))
	screenshot(t, ctx, filepath.Join(shots, "history.png"))
	if !strings.Contains(history, "1 scan from") {
		t.Errorf("history page:\n%s", history)
	}
}

// startDemo runs `serve --demo --auth-reads` in-process on a free port.
func startDemo(t *testing.T, dataDir string) *Main {
	t.Helper()
	var stdout, stderr syncBuffer
	m := NewMain(&stdout, &stderr)
	if err := m.ParseFlags([]string{"--demo", "--auth-reads", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// waitForDemoScan waits until the demo target with the tag has a finished
// scan, and returns it.
func waitForDemoScan(t *testing.T, base, token, tag string) store.Target {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/api/v1/targets?tag="+tag, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		var body struct{ Targets []store.Target }
		if resp, err := http.DefaultClient.Do(req); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && len(body.Targets) == 1 && body.Targets[0].LatestScanID != 0 {
				return body.Targets[0]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the demo's %s target was not scanned within 60s", tag)
	return store.Target{}
}

// newBrowser starts a headless Chromium of its own (a fresh profile, no
// sandbox since tests run as root, nothing that calls home) and returns
// a context to drive it with.
func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		// Names resolve to nothing: the browser can reach 127.0.0.1 only.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on this one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse performs browser actions with a generous bound (a busy machine
// is slow), failing the test with what was being done.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	read(t, ctx, what, chromedp.Steps(steps...))
}

// read runs one action that returns a value.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// screenshot writes the whole page as a PNG (quality 100 means PNG).
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	img := read(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if len(img) < 10000 {
		t.Errorf("screenshot %s: only %d bytes", path, len(img))
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
}
