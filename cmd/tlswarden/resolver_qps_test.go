package main

import (
	"strings"
	"testing"
)

// A negative --resolver-qps stops the command before it scans.
func TestResolverQPSFlag(t *testing.T) {
	code, _, errOut := runCmd(t, "", "scan", "--resolver-qps", "-1", "www.example.org")
	if code != exitNotScanned || !strings.Contains(errOut, "--resolver-qps") {
		t.Errorf("scan --resolver-qps -1: exit %d: %s", code, errOut)
	}
}
