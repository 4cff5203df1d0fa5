package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/store"
)

// runTokens is `tlswarden tokens create|list|revoke`: the API's bearer
// tokens, read and written straight in the store.
func runTokens(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		tokensUsage(stderr)
		if len(args) == 0 {
			return exitNotScanned
		}
		return exitOK
	}
	cmds := map[string]func(*tokensCmd, []string) error{
		"create": (*tokensCmd).create, "list": (*tokensCmd).list, "ls": (*tokensCmd).list, "revoke": (*tokensCmd).revoke,
	}
	fn, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tlswarden tokens: unknown command %q\n\n", args[0])
		tokensUsage(stderr)
		return exitNotScanned
	}
	c := &tokensCmd{targetsCmd{ctx: ctx, name: args[0], stdout: stdout, stderr: stderr}}
	err := fn(c, args[1:])
	if c.backend != nil {
		c.backend.Close()
	}
	return registryExit(stderr, "tokens "+c.name, err)
}

func tokensUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: tlswarden tokens COMMAND [flags] ...

Manages the bearer tokens of the API, straight in the store (the embedded
one in --data-dir, or Postgres with --database-url). Writes to the API
need a token of role admin; reads and /metrics need one of role read when
serve runs with --auth-reads and --auth-metrics. The store keeps only a
hash of each token: the token itself is printed once, by create.

Commands:
  create --name NAME --role read|admin   make a token and print it once
  list                                   list tokens (--json)
  revoke ID                              revoke a token at once

Run "tlswarden tokens COMMAND -h" for a command's flags.
`)
}

// tokensCmd shares the targets commands' flags and store handling.
type tokensCmd struct{ targetsCmd }

func (c *tokensCmd) flags(usage string) *flag.FlagSet {
	fs := c.targetsCmd.flags(usage)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tlswarden tokens %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// tokenStore opens the store as a TokenStore.
func (c *tokensCmd) tokenStore() (store.TokenStore, error) {
	st, err := c.open()
	if err != nil {
		return nil, err
	}
	ts, ok := st.(store.TokenStore)
	if !ok {
		return nil, fmt.Errorf("the store %T keeps no tokens", st)
	}
	return ts, nil
}

func (c *tokensCmd) create(args []string) error {
	fs := c.flags("create --name NAME --role read|admin [flags]")
	var name, role string
	fs.StringVar(&name, "name", "", "what the token is for, e.g. `NAME` of a person or a CI job (required)")
	fs.StringVar(&role, "role", "", "`ROLE`: read (reads and /metrics) or admin (also writes) (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("create takes no arguments, got %q", fs.Args())}
	case name == "":
		return usageError{"--name is required"}
	case !store.Role(role).Valid():
		return usageError{fmt.Sprintf("--role %q: want read or admin", role)}
	}
	ts, err := c.tokenStore()
	if err != nil {
		return err
	}
	secret, tok := api.NewToken(name, store.Role(role))
	tok, err = ts.CreateToken(c.ctx, tok)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "created token %d %q (%s); it is shown once, here:\n", tok.ID, tok.Name, tok.Role)
	fmt.Fprintln(c.stdout, secret)
	return nil
}

func (c *tokensCmd) list(args []string) error {
	fs := c.flags("list [flags]")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := c.tokenStore()
	if err != nil {
		return err
	}
	toks, err := ts.ListTokens(c.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if toks == nil {
			toks = []store.Token{}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(toks)
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tPREFIX\tCREATED\tLAST USED\tREVOKED")
	for _, t := range toks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Prefix, stamp(t.CreatedAt), stamp(t.LastUsedAt), stamp(t.RevokedAt))
	}
	return tw.Flush()
}

func (c *tokensCmd) revoke(args []string) error {
	fs := c.flags("revoke [flags] ID...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"no token ID given"}
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("%q is not a token ID (tlswarden tokens list shows them)", a)}
		}
		ids = append(ids, id)
	}
	ts, err := c.tokenStore()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := ts.RevokeToken(c.ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(c.stdout, "revoked %d\n", id)
	}
	return errors.Join(errs...)
}

// stamp prints a time to the minute, or "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}
