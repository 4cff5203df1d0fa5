package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/store"
)

func TestTokensCLI(t *testing.T) {
	dir := []string{"--data-dir", t.TempDir()}
	secret := createToken(t, dir, "ci", "admin")
	createToken(t, dir, "grafana", "read")
	for _, args := range [][]string{
		{"tokens", "create", "--name", "x", "--role", "root", "--data-dir", dir[1]},
		{"tokens", "create", "--role", "read", "--data-dir", dir[1]},
		{"tokens", "revoke", "--data-dir", dir[1], "abc"},
		{"tokens", "revoke", "--data-dir", dir[1], "99"},
		{"tokens", "nope"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != exitNotScanned || errOut == "" {
			t.Errorf("%q: exit %d, want %d with a message: %s", args, code, exitNotScanned, errOut)
		}
	}
	if code, out, errOut := runCmd(t, "", append(append([]string{"tokens", "revoke"}, dir...), "1")...); code != exitOK || out != "revoked 1\n" {
		t.Fatalf("revoke: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := runCmd(t, "", append([]string{"tokens", "list"}, dir...)...)
	if code != exitOK || !strings.Contains(out, secret[:12]+"…") || strings.Contains(out, secret) || !strings.Contains(out, "grafana") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "", append([]string{"tokens", "list", "--json"}, dir...)...)
	var toks []store.Token
	if err := json.Unmarshal([]byte(out), &toks); err != nil || code != exitOK {
		t.Fatalf("list --json: exit %d, %v\n%s", code, err, out)
	}
	if len(toks) != 2 || !toks[0].Revoked() || toks[1].Revoked() || toks[1].Role != store.RoleRead || strings.Contains(out, "hash") {
		t.Errorf("list --json: %s", out)
	}
}
