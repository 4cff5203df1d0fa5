package clients

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/tlswarden/tlswarden"
)

// The client list lives in data/clients.json, converted from Debian's
// testssl.sh package by internal/gen (see docs/client-simulation.md).
//
//go:generate go run ./internal/gen -o data/clients.json /etc/testssl/client-simulation.txt

//go:embed data/clients.json
var listJSON []byte

// List is the client list and where it came from.
type List struct {
	// Source names the list's origin, its version and file.
	Source string `json:"source"`
	// Converted is the date the list was converted from its source.
	Converted string   `json:"converted"`
	Clients   []Client `json:"clients"`
}

// Client is one real client's TLS offer: facts read from its recorded
// ClientHello (Hello), and limits the recording does not show (the key
// sizes it accepts), as its source gives them.
type Client struct {
	// ID is the source's short name ("ie_11_win7"); Name the long one.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Current marks the clients the source shows by default: the ones
	// still in use, and old ones still found in the field.
	Current bool `json:"current"`
	// Services are the protocols the client speaks ("HTTP", "SMTP", ...).
	Services []string `json:"services,omitempty"`

	MinVersion tlswarden.Version `json:"min_version"`
	MaxVersion tlswarden.Version `json:"max_version"`
	// Suites are the cipher suites offered, in the client's order (TLS 1.3
	// ones included), Groups the supported groups, KeyShares the groups
	// of the TLS 1.3 key shares sent, SignatureAlgorithms the
	// signature_algorithms extension; GREASE values left out.
	Suites              []Code `json:"suites"`
	Groups              []Code `json:"groups,omitempty"`
	GroupsSent          bool   `json:"groups_sent"`
	KeyShares           []Code `json:"key_shares,omitempty"`
	SignatureAlgorithms []Code `json:"signature_algorithms,omitempty"`
	SNI                 bool   `json:"sni"`

	// The key sizes the client accepts, in bits; zero for no limit.
	MinDHBits    int `json:"min_dh_bits,omitempty"`
	MaxDHBits    int `json:"max_dh_bits,omitempty"`
	MinRSABits   int `json:"min_rsa_bits,omitempty"`
	MaxRSABits   int `json:"max_rsa_bits,omitempty"`
	MinECDSABits int `json:"min_ecdsa_bits,omitempty"`
	// RequiresSHA2 marks a client that refuses certificates signed with
	// SHA-1.
	RequiresSHA2 bool `json:"requires_sha2,omitempty"`

	// Hello is the recorded ClientHello, hex: the record as sent.
	Hello string `json:"hello"`
}

// Code is a cipher suite, group or signature scheme code point, written
// "0xc02b" in the list.
type Code uint16

// MarshalText writes the code in hexadecimal.
func (c Code) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "0x%04x", uint16(c)), nil }

// UnmarshalText reads a code as MarshalText writes it.
func (c *Code) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 0, 16)
	if err != nil {
		return fmt.Errorf("code point %q: %w", b, err)
	}
	*c = Code(v)
	return nil
}

// Codes turns code points into Codes.
func Codes(vs []uint16) []Code {
	if len(vs) == 0 {
		return nil
	}
	out := make([]Code, len(vs))
	for i, v := range vs {
		out[i] = Code(v)
	}
	return out
}

// HelloBytes returns the recorded ClientHello.
func (c *Client) HelloBytes() ([]byte, error) {
	b, err := hex.DecodeString(c.Hello)
	if err != nil {
		return nil, fmt.Errorf("client %s: hello: %w", c.ID, err)
	}
	return b, nil
}

// offers reports whether the client offers code in list.
func offers(list []Code, code uint16) bool {
	for _, c := range list {
		if uint16(c) == code {
			return true
		}
	}
	return false
}

var loadList = sync.OnceValues(func() (*List, error) {
	var l List
	if err := json.Unmarshal(listJSON, &l); err != nil {
		return nil, fmt.Errorf("client list: %w", err)
	}
	return &l, nil
})

// Load returns the client list embedded in the binary. The list is
// shared: do not modify it.
func Load() *List {
	l, err := loadList()
	if err != nil {
		panic(err) // the embedded list is checked by the package's tests
	}
	return l
}

// Client returns the client with id, or nil.
func (l *List) Client(id string) *Client {
	for i := range l.Clients {
		if l.Clients[i].ID == id {
			return &l.Clients[i]
		}
	}
	return nil
}
