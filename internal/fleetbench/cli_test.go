package fleetbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// buildCLI builds cmd/tlswarden as the Makefile does (static,
// CGO_ENABLED=0, which also starts a few milliseconds sooner) into dir, or
// returns an error when the module's source is not at hand (the test binary
// run from elsewhere).
func buildCLI(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "tlswarden")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, "./cmd/tlswarden")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(err.Error() + ": " + string(msg))
	}
	return out, nil
}

// moduleRoot finds this module's go.mod above the working directory (go
// test runs benchmarks in the package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/tlswarden/tlswarden\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the tlswarden module is not above the working directory")
		}
		dir = parent
	}
}

// timeCLI runs `tlswarden scan --json --no-http ADDR` as a user would,
// cold, and returns its wall time and report. --no-http leaves the command
// what sslscan does: versions, suites, groups and the certificate. Exit
// status 1 (non-compliant: the fleet's CA is not trusted) is a scan done.
func timeCLI(tb testing.TB, cli string, ep endpoint) (time.Duration, *tlswarden.Report) {
	tb.Helper()
	cmd := exec.Command(cli, "scan", "--json", "--no-http", ep.Addr.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		tb.Fatalf("tlswarden scan %s: %v\n%s", ep, err, stderr.Bytes())
	}
	var r tlswarden.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		tb.Fatalf("tlswarden scan %s: reading its JSON: %v", ep, err)
	}
	return wall, &r
}
