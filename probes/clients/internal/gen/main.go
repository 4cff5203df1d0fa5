// Command gen converts testssl.sh's client-simulation.txt, as Debian's
// testssl.sh package ships it (/etc/testssl/client-simulation.txt), into
// tlswarden's client list. It carries over facts, not code: each client's
// names, recorded ClientHello and key-size limits; what the hello offers
// is read from its bytes.
//
//	go run ./internal/gen -o data/clients.json /etc/testssl/client-simulation.txt
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/clients"
)

const source = "testssl.sh 3.0.8 (Debian package testssl.sh 3.0.8+dfsg-1), etc/client-simulation.txt (from Qualys SSL Labs' client list and the testssl.sh authors' captures)"

func main() {
	out := flag.String("o", "data/clients.json", "write the list to `FILE`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-o FILE] client-simulation.txt")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	blocks, err := readBlocks(f)
	if err != nil {
		return err
	}
	l := clients.List{Source: source, Converted: time.Now().UTC().Format(time.DateOnly)}
	for _, b := range blocks {
		c, err := convert(b)
		if err != nil {
			return fmt.Errorf("%s: %w", b["names"], err)
		}
		l.Clients = append(l.Clients, c)
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	data = stringList.ReplaceAllFunc(data, func(b []byte) []byte { return space.ReplaceAll(b, nil) })
	return os.WriteFile(out, append(data, '\n'), 0o644)
}

// stringList and space find the lists of strings, to write each on one
// line: a client's offer reads as a line, and reviews stay short.
var (
	stringList = regexp.MustCompile(`\[\s+("[^"]*",?\s*)+\]`)
	space      = regexp.MustCompile(`\s+`)
)

var assignment = regexp.MustCompile(`^\s*(\w+)\+=\((.*)\)\s*$`)

// readBlocks reads the file's assignments (`key+=("value")`), one block
// per client, each starting at its names entry.
func readBlocks(f *os.File) ([]map[string]string, error) {
	var blocks []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := assignment.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if m[1] == "names" {
			blocks = append(blocks, map[string]string{})
		}
		if len(blocks) == 0 {
			return nil, errors.New("an assignment before the first client")
		}
		blocks[len(blocks)-1][m[1]] = strings.Trim(m[2], `"`)
	}
	return blocks, sc.Err()
}

func convert(b map[string]string) (clients.Client, error) {
	c := clients.Client{ID: b["short"], Name: b["names"], Current: b["current"] == "true", Hello: b["handshakebytes"]}
	if b["service"] != "" {
		c.Services = strings.Split(b["service"], ",")
	}
	var err error
	if c.MinVersion, err = version(b["lowest_protocol"]); err != nil {
		return c, err
	}
	if c.MaxVersion, err = version(b["highest_protocol"]); err != nil {
		return c, err
	}
	for key, dst := range map[string]*int{"minDhBits": &c.MinDHBits, "maxDhBits": &c.MaxDHBits,
		"minRsaBits": &c.MinRSABits, "maxRsaBits": &c.MaxRSABits, "minEcdsaBits": &c.MinECDSABits} {
		n, err := strconv.Atoi(b[key])
		if err != nil {
			return c, fmt.Errorf("%s: %w", key, err)
		}
		*dst = max(n, 0) // -1: no limit
	}
	c.RequiresSHA2 = b["requiresSha2"] == "true"
	raw, err := c.HelloBytes()
	if err != nil {
		return c, err
	}
	h, err := clients.ParseHello(raw)
	if err != nil {
		return c, err
	}
	if !h.SSLv2 {
		// testssl.sh's highest_protocol names TLS 1.3 for clients that
		// offered only its drafts; the hello says what they can get.
		c.MaxVersion = min(c.MaxVersion, tlswarden.Version(h.MaxVersion()))
		// A floor in supported_versions (Debian's OpenSSL 1.1.1 sends
		// TLS 1.2 and 1.3 only) is what a server sees.
		c.MinVersion = max(c.MinVersion, tlswarden.Version(h.MinVersion()))
	}
	c.Suites, c.Groups, c.GroupsSent = clients.Codes(h.Suites), clients.Codes(h.Groups), h.GroupsSent
	c.KeyShares, c.SignatureAlgorithms, c.SNI = clients.Codes(h.KeyShares), clients.Codes(h.SignatureAlgorithms), h.SNI
	return c, nil
}

// version reads testssl.sh's protocol codes: the wire code, SSLv2 as 0x0200.
func version(s string) (tlswarden.Version, error) {
	v, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("protocol %q: %w", s, err)
	}
	if v == 0x0200 {
		return tlswarden.SSLv2, nil
	}
	return tlswarden.Version(v), nil
}
