package hello

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// countingReader counts the Read calls and bytes its reader gave.
type countingReader struct {
	r            io.Reader
	calls, bytes int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.calls++
	c.bytes += n
	return n, err
}

// readFlightExact is ReadServerFlight without the read-ahead: two reads a
// record, never a byte past the last record it takes.
func readFlightExact(r io.Reader, opts ReadOptions) (*Flight, error) {
	rd := &recordReader{r: r, max: orDefaultMax(opts.MaxBytes)}
	f := &Flight{}
	err := readFlight(rd, f, opts)
	f.Bytes = rd.n
	return f, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReadAheadSameFlight: reading ahead changes nothing of what a flight
// read returns (the flight, its byte count, the error and its words),
// however the connection delivers the bytes, for whole flights, their
// prefixes (a server that closes mid-flight) and byte limits down to a
// few bytes; and it never reads more than the limit from the connection.
func TestReadAheadSameFlight(t *testing.T) {
	sh := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0)))
	cert := hs(typeCertificate, append([]byte{0, 0x0B, 0xBB, 0, 0x0B, 0xB8}, bytes.Repeat([]byte{0x30}, 3000)...))
	flights := map[string][]byte{
		// Messages packed and split across records, a warning alert
		// first, a certificate over two records.
		"synthetic": bytes.Join([][]byte{rec(recordAlert, []byte{1, 112}), rec(recordHandshake, sh[:3]),
			rec(recordHandshake, append(sh[3:], cert[:100]...)), rec(recordHandshake, cert[100:]),
			rec(recordHandshake, bytes.Join([][]byte{hs(typeCertificateStatus, []byte{1, 0, 0, 1, 0}),
				hs(typeServerKeyExchange, ecdheSKE(24)), hs(typeServerHelloDone, nil)}, nil))}, nil),
	}
	files, err := filepath.Glob(filepath.Join("testdata", "flights", "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("captured flights: %v, %d files", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		flights[filepath.Base(f)] = b
	}
	delivery := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
		"data-err": iotest.DataErrReader,
	}
	for name, data := range flights {
		var cuts []int
		for n := 0; n < len(data); n += max(1, len(data)/40) {
			cuts = append(cuts, n)
		}
		cuts = append(cuts, len(data))
		for _, cut := range cuts {
			for _, limit := range []int{0, 3, 7, 60, 300, len(data) / 2, len(data) + 10} {
				for _, opts := range []ReadOptions{{}, {KeyExchange: true}, {KeyExchange: true, KeepCertificate: true}} {
					opts.MaxBytes = limit
					want, wantErr := readFlightExact(bytes.NewReader(data[:cut]), opts)
					for how, wrap := range delivery {
						t.Run(fmt.Sprintf("%s/%d-bytes/limit-%d/%s", name, cut, limit, how), func(t *testing.T) {
							cr := &countingReader{r: wrap(bytes.NewReader(data[:cut]))}
							got, gotErr := ReadServerFlight(cr, opts)
							if diff := cmp.Diff(want, got); diff != "" {
								t.Errorf("flight (-exact +read ahead):\n%s", diff)
							}
							if errString(gotErr) != errString(wantErr) {
								t.Errorf("error %q, want %q", errString(gotErr), errString(wantErr))
							}
							if max := orDefaultMax(limit); cr.bytes > max {
								t.Errorf("read %d bytes from the connection, limit %d", cr.bytes, max)
							}
						})
					}
				}
			}
		}
	}
}

// TestReadAheadFewerReads: a flight whose records arrived together takes
// one read (and one more to learn nothing else is there only when the
// reader says so), where the exact reader takes two a record.
func TestReadAheadFewerReads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "flights", "tls12-ecdhe-rsa.bin"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ReadOptions{KeyExchange: true}
	exact := &countingReader{r: bytes.NewReader(data)}
	if _, err := readFlightExact(exact, opts); err != nil {
		t.Fatal(err)
	}
	ahead := &countingReader{r: bytes.NewReader(data)}
	if _, err := ReadServerFlight(ahead, opts); err != nil {
		t.Fatal(err)
	}
	if exact.calls < 4 || ahead.calls != 1 {
		t.Errorf("reads: %d exact, %d ahead; want at least 4 and 1", exact.calls, ahead.calls)
	}
	t.Logf("%d-byte flight: %d reads exact, %d ahead", len(data), exact.calls, ahead.calls)
}

// TestReadAheadLongRecord: a record longer than the buffer is read into
// its own slice, after what the buffer held of it.
func TestReadAheadLongRecord(t *testing.T) {
	cert := bytes.Repeat([]byte{0x30}, 3*aheadSize)
	u24 := func(n int) []byte { return []byte{byte(n >> 16), byte(n >> 8), byte(n)} }
	certMsg := hs(typeCertificate, append(append(u24(len(cert)+3), u24(len(cert))...), cert...))
	data := rec(recordHandshake, hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom)))
	for m := certMsg; len(m) > 0; {
		n := min(len(m), MaxRecordPayload)
		data = append(data, rec(recordHandshake, m[:n])...)
		m = m[n:]
	}
	data = append(data, rec(recordHandshake, hs(typeServerKeyExchange, ecdheSKE(29)))...)
	opts := ReadOptions{KeyExchange: true, KeepCertificate: true}
	want, wantErr := readFlightExact(bytes.NewReader(data), opts)
	got, gotErr := ReadServerFlight(bytes.NewReader(data), opts)
	if wantErr != nil || gotErr != nil {
		t.Fatalf("errors: exact %v, ahead %v", wantErr, gotErr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flight (-exact +read ahead):\n%s", diff)
	}
	if got.Certificate == nil || len(got.Certificate.Certificates) != 1 || !bytes.Equal(got.Certificate.Certificates[0], cert) {
		t.Errorf("certificate not kept whole: %+v", got.Certificate)
	}
}
