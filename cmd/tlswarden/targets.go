package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// runTargets is `tlswarden targets add|list|rm|import|scan`: the registry,
// read and written straight in the store.
func runTargets(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		targetsUsage(stderr)
		if len(args) == 0 {
			return exitNotScanned
		}
		return exitOK
	}
	cmds := map[string]func(*targetsCmd, []string) error{
		"add": (*targetsCmd).add, "list": (*targetsCmd).list, "ls": (*targetsCmd).list,
		"rm": (*targetsCmd).rm, "import": (*targetsCmd).importFile, "scan": (*targetsCmd).scan,
	}
	fn, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tlswarden targets: unknown command %q\n\n", args[0])
		targetsUsage(stderr)
		return exitNotScanned
	}
	c := &targetsCmd{ctx: ctx, name: args[0], stdin: stdin, stdout: stdout, stderr: stderr}
	err := fn(c, args[1:])
	if c.backend != nil {
		c.backend.Close()
	}
	return registryExit(stderr, "targets "+c.name, err)
}

// registryExit reports the error of a targets or tokens subcommand and
// returns its exit status: 2 for what the user can fix (usage, invalid
// input, nothing found), 1 for everything else.
func registryExit(stderr io.Writer, command string, err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue), errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(stderr, "tlswarden %s: %v\n", command, err)
		return exitNotScanned
	}
	fmt.Fprintf(stderr, "tlswarden %s: %v\n", command, err)
	return exitFailed
}

func targetsUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: tlswarden targets COMMAND [flags] ...

Reads and writes the registry of targets straight in the store (the
embedded one in --data-dir, or Postgres with --database-url).

Commands:
  add HOST[:PORT]...        add targets (--owner, --tag, --schedule, --disabled,
                            --no-intrusive)
  list                      list targets (--owner, --tag, --json)
  rm ID|HOST[:PORT]...      remove targets with their scans and history
  import FILE.yaml          add or update the targets a YAML file lists, all
                            or none; says what it added, changed, left alone
  scan ID|HOST[:PORT]...    ask for a scan now (a serve or worker runs it);
                            --all: every enabled target

Run "tlswarden targets COMMAND -h" for a command's flags.
`)
}

// usageError is a command line that cannot be obeyed.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type targetsCmd struct {
	ctx            context.Context
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	store          storeFlags
	backend        *backend
}

// flags returns the command's flag set, with the store's flags.
func (c *targetsCmd) flags(usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("targets "+c.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tlswarden targets %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	c.store.register(fs)
	return fs
}

// open opens the store, migrating it: the registry works on a fresh data
// directory.
func (c *targetsCmd) open() (store.Store, error) {
	b, err := openBackend(c.ctx, c.store.dataDir, c.store.databaseURL, true)
	if err != nil {
		return nil, err
	}
	c.backend = b
	return b.store, nil
}

// tagList is a repeatable, comma-separated --tag flag.
type tagList []string

func (t *tagList) String() string { return strings.Join(*t, ",") }

func (t *tagList) Set(s string) error {
	for _, tag := range strings.Split(s, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			*t = append(*t, tag)
		}
	}
	return nil
}

func (c *targetsCmd) add(args []string) error {
	fs := c.flags("add [flags] [KIND://]HOST[:PORT]...")
	var (
		owner, schedule string
		tags            tagList
		disabled        bool
		noIntrusive     bool
	)
	fs.StringVar(&owner, "owner", "", "owning team or organisation `CODE`")
	fs.Var(&tags, "tag", "`TAG`s (comma-separated, repeatable)")
	fs.StringVar(&schedule, "schedule", "", "`SCHEDULE` replacing the default for these targets: five cron fields, @daily, or @every DURATION (at least 1m)")
	fs.BoolVar(&disabled, "disabled", false, "add them disabled: scanned only on request")
	fs.BoolVar(&noIntrusive, "no-intrusive", false, "exempt them from the weakness checks fragile appliances or an IDS may take badly (Heartbleed, CCS injection, ROBOT, CBC padding oracle, client-initiated renegotiation), whatever serve's flags and profile say")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"no targets given"}
	}
	var ts []store.Target
	for _, a := range fs.Args() {
		t, err := parseTargetArg(a, func(note string) { fmt.Fprintln(c.stderr, "tlswarden targets add:", note) })
		if err != nil {
			return usageError{err.Error()}
		}
		t.Owner, t.Tags = owner, tags
		ts = append(ts, store.Target{Target: t, Enabled: !disabled, Schedule: schedule, Intrusive: !noIntrusive})
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range ts {
		got, err := st.CreateTarget(c.ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Target, err))
			continue
		}
		fmt.Fprintf(c.stdout, "added %d %s\n", got.ID, targetName(got.Target))
	}
	return errors.Join(errs...)
}

func (c *targetsCmd) list(args []string) error {
	fs := c.flags("list [flags]")
	var (
		f      store.TargetFilter
		asJSON bool
	)
	fs.StringVar(&f.Owner, "owner", "", "only targets of this `OWNER`")
	fs.StringVar(&f.Tag, "tag", "", "only targets with this `TAG`")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	ts, err := st.ListTargets(c.ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(nonNilTargets(ts))
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tOWNER\tTAGS\tENABLED\tSCHEDULE\tLATEST SCAN")
	for _, t := range ts {
		latest := "-"
		if t.LatestScanID != 0 {
			latest = strconv.FormatInt(t.LatestScanID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%s\t%s\n", t.ID, targetName(t.Target), dash(t.Owner), dash(strings.Join(t.Tags, ",")), t.Enabled, dash(t.Schedule), latest)
	}
	return tw.Flush()
}

func nonNilTargets(ts []store.Target) []store.Target {
	if ts == nil {
		return []store.Target{}
	}
	return ts
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// find returns the target an argument names: an ID, or [KIND://]HOST[:PORT]
// (a bare host:port on a kind's well-known port names that kind, as on
// add).
func find(ctx context.Context, st store.Store, arg string) (store.Target, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil && id > 0 {
		return st.GetTarget(ctx, id)
	}
	t, err := tlswarden.ParseTarget(arg, tlswarden.DefaultPort)
	if err != nil {
		return store.Target{}, usageError{err.Error()}
	}
	return st.FindTarget(ctx, t.Kind, t.Host, t.Port)
}

func (c *targetsCmd) rm(args []string) error {
	fs := c.flags("rm ID|HOST[:PORT]...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"no targets given"}
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	return c.eachTarget(st, fs.Args(), func(t store.Target) error {
		if err := st.DeleteTarget(c.ctx, t.ID); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed %d %s\n", t.ID, t.Target)
		return nil
	})
}

func (c *targetsCmd) scan(args []string) error {
	fs := c.flags("scan [--all] ID|HOST[:PORT]...")
	all := fs.Bool("all", false, "ask for a scan of every enabled target")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 && !*all {
		return usageError{"no targets given (or --all)"}
	}
	if fs.NArg() > 0 && *all {
		return usageError{"--all takes no targets"}
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	// A queue without a scanner only inserts: a serve or worker scans.
	q, err := c.backend.newQueue(jobs.Config{Store: st})
	if err != nil {
		return err
	}
	if *all {
		n, err := q.RequestAll(c.ctx, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "queued %d scans (targets already queued or running keep their job)\n", n)
		return nil
	}
	return c.eachTarget(st, fs.Args(), func(t store.Target) error {
		r, err := q.RequestScan(c.ctx, t.ID, "cli")
		if err != nil {
			return err
		}
		note := "queued"
		if r.Duplicate {
			note = "already queued or running"
		}
		fmt.Fprintf(c.stdout, "%s: scan request %d %s (%s)\n", t.Target, r.ID, note, r.State)
		return nil
	})
}

// eachTarget finds each named target (an ID or HOST[:PORT]) and applies do
// to it, going on past failures and returning them all, each named by its
// argument.
func (c *targetsCmd) eachTarget(st store.Store, names []string, do func(store.Target) error) error {
	var errs []error
	for _, a := range names {
		t, err := find(c.ctx, st, a)
		if err == nil {
			err = do(t)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

func (c *targetsCmd) importFile(args []string) error {
	fs := c.flags("import [flags] FILE.yaml (- for stdin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want one FILE.yaml"}
	}
	name := fs.Arg(0)
	data, err := readAll(c.ctx, name, c.stdin)
	if err != nil {
		return err
	}
	rows, lines, err := parseTargetsYAML(name, data)
	if err != nil {
		return err
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	res, err := st.ImportTargets(c.ctx, rows)
	if err != nil {
		return withLines(name, lines, err)
	}
	for _, r := range res.Rows {
		if r.Action != store.ImportUnchanged {
			fmt.Fprintf(c.stdout, "%-9s %d %s\n", r.Action, r.Target.ID, r.Target.Target)
		}
	}
	fmt.Fprintf(c.stdout, "%s: %d added, %d changed, %d unchanged\n", name, res.Added, res.Changed, res.Unchanged)
	return nil
}

// maxImportBytes bounds a targets file, from stdin or a file alike: 64
// MiB is some hundred thousand targets.
const maxImportBytes = 64 << 20

// readAll reads a targets file (stdin for "-") of at most maxImportBytes,
// giving up when ctx ends (Ctrl-C), even while a read blocks.
func readAll(ctx context.Context, name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read targets: %w", err)
		}
		defer f.Close()
		r = f
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readBounded(ctx, r, maxImportBytes)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, fmt.Errorf("read targets from %s: %w", name, res.err)
		}
		return res.data, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("read targets from %s: %w", name, context.Cause(ctx))
	}
}

// readBounded reads r to its end, failing when it holds more than limit
// bytes or when ctx ends between two reads.
func readBounded(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > limit {
			return nil, fmt.Errorf("larger than %d MiB", limit>>20)
		}
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
