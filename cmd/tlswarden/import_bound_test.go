package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// A targets file is bounded like stdin: /dev/zero is refused after 64
// MiB, from a file name and from stdin alike.
func TestTargetsImportBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	code, _, errOut := runCmd(t, "", "targets", "import", "--data-dir", dir, "/dev/zero")
	if code == exitOK || !strings.Contains(errOut, "larger than 64 MiB") {
		t.Errorf("import /dev/zero: exit %d: %s", code, errOut)
	}
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	var out, errBuf strings.Builder
	code = run(t.Context(), []string{"targets", "import", "--data-dir", dir, "-"}, zero, &out, &errBuf)
	if code == exitOK || !strings.Contains(errBuf.String(), "larger than 64 MiB") {
		t.Errorf("import - from /dev/zero: exit %d: %s", code, errBuf.String())
	}
}

// Ctrl-C ends an import that is still reading: one whose reads never end,
// and one whose read blocks.
func TestTargetsImportCancelled(t *testing.T) {
	for name, r := range map[string]io.Reader{
		"endless":  endless{},
		"blocking": blockingReader{},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			errInterrupt := errors.New("interrupted")
			time.AfterFunc(200*time.Millisecond, func() { cancel(errInterrupt) })
			done := make(chan error, 1)
			go func() {
				_, err := readAll(ctx, "-", r)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errInterrupt) {
					t.Errorf("readAll after Ctrl-C: %v, want the interruption", err)
				}
			case <-time.After(time.Minute):
				t.Error("readAll still reading a minute after Ctrl-C")
			}
		})
	}
}

// endless returns a byte at a time, for ever: it never reaches the bound
// in time.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	p[0] = 'a'
	return 1, nil
}

// blockingReader blocks its first read for ever, as a terminal with
// nothing typed does.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }
