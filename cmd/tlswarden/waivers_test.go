package main

import (
	"strings"
	"testing"
	"time"
)

func TestWaiversCLI(t *testing.T) {
	dir := t.TempDir()
	st := []string{"--data-dir", dir}
	if code, _, errOut := runCmd(t, "", append([]string{"targets", "add", "--owner", "web"}, append(st, "old.example.org")...)...); code != exitOK {
		t.Fatalf("targets add: %s", errOut)
	}
	expires := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"request", "--as", "alice", "--target", "old.example.org", "--rule", "tls.version.min", "--reason", "vendor appliance", "--expires", expires}, exitOK, "waiver 1 requested: tls.version.min on target 1 until " + expires},
		{[]string{"request", "--as", "alice", "--owner", "web", "--rule", "http.hsts", "--reason", "r", "--expires", "2020-01-01"}, exitNotScanned, "has passed"},
		{[]string{"approve", "--as", "alice", "1"}, exitNotScanned, "cannot approve their own waiver"},
		{[]string{"approve", "--as", "bob", "1"}, exitOK, "waiver 1 is active"},
		{[]string{"list"}, exitOK, "1   active  target 1  tls.version.min  " + expires + "  alice (cli)   bob (cli)    vendor appliance"},
		{[]string{"revoke", "--as", "carol", "1"}, exitOK, "waiver 1 is revoked"},
		{[]string{"audit", "1"}, exitOK, "waiver 1 revoked by carol (cli): tls.version.min on target 1"},
		{[]string{"approve", "--as", "bob", "x"}, exitNotScanned, "want one waiver ID"},
	}
	for _, s := range steps {
		args := append(append([]string{"waivers", s.args[0]}, st...), s.args[1:]...)
		code, out, errOut := runCmd(t, "", args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Errorf("waivers %s: exit %d, want %d with %q:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errOut)
		}
	}
}
