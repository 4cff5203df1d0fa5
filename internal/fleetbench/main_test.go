package fleetbench

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary plays four roles, chosen by environment variables:
// the benchmark as started by go test; the same benchmark re-executed in a
// private network namespace; the process that serves the Go endpoints; and
// the latency proxy.
const (
	envRole   = "TLSWARDEN_FLEETBENCH_ROLE"
	roleGo    = "go-servers"
	envNetns  = "TLSWARDEN_FLEETBENCH_NETNS"
	netnsOwn  = "private"
	netnsHost = "host"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case roleGo:
		os.Exit(serveGo(os.Stdin, os.Stdout))
	case roleProxy:
		os.Exit(serveProxy(os.Stdin, os.Stdout))
	}
	flag.Parse()
	switch os.Getenv(envNetns) {
	case "":
		if benchmarking() {
			if code, err := rerunInNetns(); err == nil {
				os.Exit(code)
			} else {
				fmt.Fprintf(os.Stderr, "fleetbench: no private network namespace (%v): servers bind 127.0.0.1 in the host's; gnutls-serv endpoints are left out, since gnutls-serv cannot listen on loopback only\n", err)
			}
		}
		os.Setenv(envNetns, netnsHost)
	case netnsOwn:
		if err := loopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "fleetbench: bringing up lo in the private network namespace:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// benchmarking reports whether go test asked for benchmarks (-bench).
func benchmarking() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}

// privateNetns reports whether this process runs in its own network
// namespace, where only loopback exists.
func privateNetns() bool { return os.Getenv(envNetns) == netnsOwn }

// rerunInNetns runs this test binary again, with the same arguments, in a
// new network namespace, and returns its exit code. It needs root; an
// error means the namespace could not be made and nothing was run.
func rerunInNetns() (int, error) {
	if os.Geteuid() != 0 {
		return 0, errors.New("not root")
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envNetns+"="+netnsOwn)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), nil
	}
	fmt.Fprintln(os.Stderr, "fleetbench: benchmark process:", err)
	return 1, nil
}

// loopbackUp sets the IFF_UP flag on lo, which a new network namespace
// creates down; with it up, all of 127.0.0.0/8 is local.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}
