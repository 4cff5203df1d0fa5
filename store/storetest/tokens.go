package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden/store"
)

// tokens returns s as a TokenStore, failing when it is not one.
func tokens(tb testing.TB, s store.Store) store.TokenStore {
	tb.Helper()
	ts, ok := s.(store.TokenStore)
	if !ok {
		tb.Fatalf("%T does not implement store.TokenStore", s)
	}
	return ts
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func testTokens(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ts := tokens(t, s)
	before := time.Now().Add(-time.Second)

	ci, err := ts.CreateToken(ctx, store.Token{Name: "  ci  ", Role: store.RoleAdmin, Prefix: "tlsw_abc", Hash: tokenHash("one")})
	check(t, "create admin token", err)
	if ci.ID <= 0 || ci.Name != "ci" || ci.CreatedAt.Before(before) || ci.Revoked() || !ci.LastUsedAt.IsZero() {
		t.Errorf("created %+v", ci)
	}
	grafana, err := ts.CreateToken(ctx, store.Token{Name: "grafana", Role: store.RoleRead, Prefix: "tlsw_def", Hash: tokenHash("two")})
	check(t, "create read token", err)

	_, err = ts.CreateToken(ctx, store.Token{Name: "again", Role: store.RoleRead, Prefix: "tlsw_abc", Hash: tokenHash("one")})
	wantErr(t, "create a token with a stored hash", err, store.ErrConflict)

	got, err := ts.TokenByHash(ctx, tokenHash("one"))
	check(t, "token by hash", err)
	diff(t, "token by hash", ci, got)
	_, err = ts.TokenByHash(ctx, tokenHash("three"))
	wantErr(t, "token by unknown hash", err, store.ErrNotFound)

	used := base.Add(time.Hour)
	check(t, "touch", ts.TouchToken(ctx, grafana.ID, used))
	wantErr(t, "touch a missing token", ts.TouchToken(ctx, 99999, used), store.ErrNotFound)
	check(t, "revoke", ts.RevokeToken(ctx, ci.ID))
	list, err := ts.ListTokens(ctx)
	check(t, "list", err)
	if len(list) != 2 || !list[0].Revoked() || list[1].Revoked() {
		t.Fatalf("tokens after revoking the first: %+v", list)
	}
	revokedAt := list[0].RevokedAt
	check(t, "revoke twice", ts.RevokeToken(ctx, ci.ID))
	wantErr(t, "revoke a missing token", ts.RevokeToken(ctx, 99999), store.ErrNotFound)
	grafana.LastUsedAt = used
	ci.RevokedAt = revokedAt
	list, err = ts.ListTokens(ctx)
	check(t, "list", err)
	diff(t, "tokens", []store.Token{ci, grafana}, list, cmpopts.EquateEmpty())
}

func testTokenValidation(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ts := tokens(t, s)
	good := store.Token{Name: "ci", Role: store.RoleAdmin, Prefix: "tlsw_abc", Hash: tokenHash("x")}
	for _, tc := range []struct {
		field string
		edit  func(*store.Token)
	}{
		{"name", func(t *store.Token) { t.Name = " " }},
		{"name", func(t *store.Token) { t.Name = string(make([]byte, store.MaxTokenNameLen+1)) }},
		{"name", func(t *store.Token) { t.Name = "a\nb" }},
		{"role", func(t *store.Token) { t.Role = "root" }},
		{"prefix", func(t *store.Token) { t.Prefix = "" }},
		{"hash", func(t *store.Token) { t.Hash = t.Hash[:16] }},
	} {
		tok := good
		tc.edit(&tok)
		_, err := ts.CreateToken(ctx, tok)
		wantErr(t, "create an invalid token", err, store.ErrInvalid)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%+v: got %v, want a *ValidationError for field %q", tok, err, tc.field)
		}
	}
	list, err := ts.ListTokens(ctx)
	check(t, "list", err)
	if len(list) != 0 {
		t.Errorf("invalid tokens were stored: %+v", list)
	}
}
