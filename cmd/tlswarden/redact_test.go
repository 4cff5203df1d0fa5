package main

import (
	"strings"
	"testing"
)

// The database password never reaches the output: not as the flag's
// default in -h or after a typo, not in the error of a failed connection.
func TestDatabasePasswordNotPrinted(t *testing.T) {
	const secret = "s3cretPW!x"
	for _, dsn := range []string{
		"postgres://tlswarden:" + secret + "@127.0.0.1:1/tlswarden?sslmode=disable&connect_timeout=2",
		"postgres://tlswarden@127.0.0.1:1/tlswarden?sslmode=disable&connect_timeout=2&password=" + secret,
		"host=127.0.0.1 port=1 user=tlswarden password=" + secret + " dbname=tlswarden sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=1 user=tlswarden password='" + secret + "' dbname=tlswarden sslmode=disable connect_timeout=2",
	} {
		t.Setenv("DATABASE_URL", dsn)
		for _, args := range [][]string{
			{"serve", "-h"}, {"worker", "--no-such-flag"}, {"targets", "list", "--no-such-flag"},
			{"migrate"}, {"targets", "list"}, {"migrate", "--database-url", dsn},
		} {
			code, out, errOut := runCmd(t, "", args...)
			if strings.Contains(out+errOut, secret) || strings.Contains(out+errOut, "s3cretPW%21x") {
				t.Errorf("%q with DATABASE_URL %q: exit %d prints the password:\n%s%s", args, dsn, code, out, errOut)
			}
			if args[len(args)-1] == "-h" && !strings.Contains(errOut+out, "xxxxx") {
				t.Errorf("%q: the default is not shown redacted:\n%s%s", args, out, errOut)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h/db":                     "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=pw&sslmode=no": "postgres://u@h/db?password=xxxxx&sslmode=no",
		"host=h password=pw user=u":                "host=h password=xxxxx user=u",
		"host=h password = 'p w' user=u":           "host=h password = xxxxx user=u",
		"postgres://h/db":                          "postgres://h/db",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
