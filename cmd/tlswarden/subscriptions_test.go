package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSubscriptionsCLI(t *testing.T) {
	dir := t.TempDir()
	st := []string{"--data-dir", dir}
	const url = "https://hooks.example.com/services/T000/B000/SECRETTOKEN"
	const secret = "signing-secret-0123456789"
	urlFile := filepath.Join(dir, "url")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TLSWARDEN_WEBHOOK_URL", "")
	t.Setenv("TLSWARDEN_WEBHOOK_SECRET", "")
	steps := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"add", "--as", "alice", "--name", "web team", "--owner", "web", "--channel", "webhook", "--url-file", urlFile, "--secret-file", secretFile, "--expiry-days", "30"},
			exitOK, "subscription 1 added: owner web to webhook (https://hooks.example.com/…)"},
		{"", []string{"add", "--as", "alice", "--name", "no secret", "--channel", "webhook", "--url-file", urlFile},
			exitNotScanned, "--secret-file FILE or $TLSWARDEN_WEBHOOK_SECRET is required"},
		{"", []string{"add", "--as", "alice", "--name", "short", "--channel", "webhook", "--url-file", urlFile, "--secret-file", urlFile + "x"},
			exitFailed, "no such file"},
		{url, []string{"add", "--as", "bob", "--name", "chat", "--tag", "pci", "--channel", "slack", "--url-file", "-", "--fixes", "--min-severity", "high"},
			exitOK, "subscription 2 added: tag pci to slack (https://hooks.example.com/…)"},
		{"ftp://x", []string{"add", "--as", "bob", "--name", "bad", "--channel", "teams", "--url-file", "-"},
			exitNotScanned, "url"},
		{"", []string{"list"}, exitOK, "2   chat      tag pci    slack    https://hooks.example.com/…  regressions (high+), fixes  enabled"},
		{"", []string{"disable", "2"}, exitOK, "subscription 2 disabled"},
		{"", []string{"list", "--json"}, exitOK, `"receiver": "https://hooks.example.com/…"`},
		{"", []string{"deliveries"}, exitOK, "ID  SUBSCRIPTION  STATUS"},
		{"", []string{"deliveries", "--status", "lost"}, exitNotScanned, "want pending, sent or failed"},
		{"", []string{"remove", "2"}, exitOK, "subscription 2 removed"},
		{"", []string{"remove", "2"}, exitNotScanned, "not found"},
		{"", []string{"remove", "x"}, exitNotScanned, "want one subscription ID"},
	}
	for _, s := range steps {
		args := append(append([]string{"subscriptions", s.args[0]}, st...), s.args[1:]...)
		code, out, errOut := runCmd(t, s.stdin, args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Errorf("subscriptions %s: exit %d, want %d with %q:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errOut)
		}
		for _, leak := range []string{"SECRETTOKEN", secret} {
			if strings.Contains(out+errOut, leak) {
				t.Errorf("subscriptions %s prints %q", strings.Join(s.args, " "), leak)
			}
		}
	}
}

// TestSubscriptionsTest sends a sample digest to a receiver on loopback,
// then to one that refuses it, and prints neither's URL nor the secret.
func TestSubscriptionsTest(t *testing.T) {
	dir := t.TempDir()
	st := []string{"--data-dir", dir}
	var mu sync.Mutex
	var got []string
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer ok.Close()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer gone.Close()
	const secret = "signing-secret-0123456789"
	t.Setenv("TLSWARDEN_WEBHOOK_SECRET", secret)
	for _, u := range []string{ok.URL + "/hook/SECRETPATH", gone.URL + "/hook/SECRETPATH"} {
		t.Setenv("TLSWARDEN_WEBHOOK_URL", u)
		if code, _, errOut := runCmd(t, "", append([]string{"subscriptions", "add", "--as", "a", "--name", "n", "--channel", "webhook"}, st...)...); code != exitOK {
			t.Fatalf("add: %s", errOut)
		}
	}
	code, out, errOut := runCmd(t, "", append([]string{"subscriptions", "test"}, append(st, "1")...)...)
	if code != exitOK || !strings.Contains(out, "accepted a test digest") {
		t.Errorf("test 1: exit %d\n%s%s", code, out, errOut)
	}
	mu.Lock()
	if len(got) != 1 || !strings.Contains(got[0], `"test":true`) {
		t.Errorf("the receiver got %q", got)
	}
	mu.Unlock()
	code, out, errOut = runCmd(t, "", append([]string{"subscriptions", "test"}, append(st, "2")...)...)
	if code == exitOK || !strings.Contains(errOut, "404") {
		t.Errorf("test 2: exit %d\n%s%s", code, out, errOut)
	}
	for _, leak := range []string{"SECRETPATH", secret} {
		if strings.Contains(out+errOut, leak) {
			t.Errorf("subscriptions test prints %q", leak)
		}
	}
}
