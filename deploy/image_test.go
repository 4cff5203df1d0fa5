package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testenv"
)

// dockerfile is what the image test reads of ../Dockerfile: the final
// stage's files, environment, user and command.
type dockerfile struct {
	copies     []dockerCopy // COPY --from=build, in order
	env        map[string]string
	user       string
	workdir    string
	entrypoint []string
	cmd        []string
}

type dockerCopy struct {
	src, dst string
	chown    string
}

// parseDockerfile reads the instructions of the last stage (after the last
// FROM), joining continued lines. It knows the instructions the file uses
// and fails on any other, so that a new one is not silently ignored.
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var cont strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cont.WriteString(line)
		lines = append(lines, cont.String())
		cont.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	for _, line := range lines {
		instr, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			d = dockerfile{env: map[string]string{}}
		case "COPY":
			fields := strings.Fields(args)
			c := dockerCopy{src: fields[len(fields)-2], dst: fields[len(fields)-1]}
			from := ""
			for _, opt := range fields[:len(fields)-2] {
				if v, ok := strings.CutPrefix(opt, "--from="); ok {
					from = v
				}
				if v, ok := strings.CutPrefix(opt, "--chown="); ok {
					c.chown = v
				}
			}
			if from == "build" {
				d.copies = append(d.copies, c)
			}
		case "ENV":
			for _, kv := range strings.Fields(args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q is not KEY=VALUE", kv)
				}
				d.env[k] = v
			}
		case "USER":
			d.user = args
		case "WORKDIR":
			d.workdir = args
		case "ENTRYPOINT", "CMD":
			var list []string
			if err := json.Unmarshal([]byte(args), &list); err != nil {
				t.Fatalf("Dockerfile: %s is not in exec form: %v", instr, err)
			}
			if strings.EqualFold(instr, "CMD") {
				d.cmd = list
			} else {
				d.entrypoint = list
			}
		case "RUN", "EXPOSE":
		default:
			t.Fatalf("Dockerfile: instruction %s is not known to this test", instr)
		}
	}
	return d
}

// TestImageRootFS assembles the final image's root filesystem the way the
// Dockerfile does (no container engine is needed: the build stage's
// products are made here the same way) and runs its entrypoint and command,
// chrooted into it as the image's user, with the image's environment: the
// static binary must start with nothing else in the filesystem, write its
// embedded store in the data directory and answer /healthz and /readyz.
func TestImageRootFS(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the image test chroots and needs root, which CI has")
	}
	d := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	build := buildStage(t)
	for _, c := range d.copies {
		src, ok := build[c.src]
		if !ok {
			t.Fatalf("Dockerfile copies %s from the build stage, which this test does not make", c.src)
		}
		dst := filepath.Join(root, c.dst)
		if err := copyTree(src, dst); err != nil {
			t.Fatal(err)
		}
		if c.chown != "" {
			uid, gid := ids(t, c.chown)
			if err := os.Chown(dst, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A container engine bind-mounts /etc/resolv.conf into every container
	// (scratch images included); the scanner reads its DNS servers there.
	// Nothing is resolved here: loopback.
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid, gid := ids(t, d.user)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := []string{"TLSWARDEN_LISTEN=" + addr} // loopback, not the image's 0.0.0.0
	for k, v := range d.env {
		if k != "TLSWARDEN_LISTEN" {
			env = append(env, k+"="+v)
		}
	}
	argv := append(append([]string{}, d.entrypoint...), d.cmd...)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, argv[0]), argv[1:]...)
	cmd.Path, cmd.Args[0] = argv[0], argv[0] // resolved inside the chroot
	cmd.Env = env
	cmd.Dir = d.workdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v in the image root: %v", argv, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	// Polling stops when the process exits.
	pollCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case err := <-exited:
			exited <- err
			stop()
		case <-pollCtx.Done():
		}
	}()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := waitStatus(pollCtx, "http://"+addr+path); code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, code)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, d.env["TLSWARDEN_DATA_DIR"]))
	if err != nil || len(entries) == 0 {
		t.Errorf("nothing written in the data directory %s (%v)", d.env["TLSWARDEN_DATA_DIR"], err)
	}
}

// buildStage makes what the Dockerfile's build stage produces, by source
// path: the static binary, built with the same flags, the passwd file, the
// empty data and tmp directories, and the system's CA bundle.
func buildStage(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tlswarden")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/tlswarden")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("tlswarden:x:65532:65532::/var/lib/tlswarden:/nonexistent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, tmp := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
	for _, d := range []string{data, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	bundle := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("no CA bundle to copy (apt-get install ca-certificates): %v", err)
	}
	return map[string]string{
		"/out/tlswarden": bin, "/out/passwd": passwd, "/out/data": data, "/out/tmp": tmp, bundle: bundle,
	}
}

// copyTree copies a file or a directory (its mode, not its contents: the
// build stage's directories are empty) to dst, making dst's parents.
func copyTree(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if st.IsDir() {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return os.Chmod(dst, st.Mode().Perm()|st.Mode()&os.ModeSticky)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}

// ids parses "UID:GID" (numeric, as the Dockerfile writes them).
func ids(t *testing.T, s string) (int, int) {
	t.Helper()
	u, g, _ := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if err1 != nil || err2 != nil {
		t.Fatalf("Dockerfile: user %q is not numeric UID:GID", s)
	}
	return uid, gid
}

// waitStatus polls url until it answers or ctx ends, and returns the status
// (0 when it never answered).
func waitStatus(ctx context.Context, url string) int {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(100 * time.Millisecond):
		}
	}
}
