package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a generic webhook's signature:
//
//	X-Tlswarden-Signature: t=UNIX_SECONDS,v1=HEX
//
// where HEX is the lowercase hex of HMAC-SHA256(secret, "UNIX_SECONDS." +
// body). The time in the signed text lets a receiver refuse old
// deliveries replayed; v1 names the scheme, so a new one can be sent
// beside it.
const SignatureHeader = "X-Tlswarden-Signature"

// DeliveryHeader carries the delivery's ID, the digest's delivery_id.
const DeliveryHeader = "X-Tlswarden-Delivery"

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a SignatureHeader value against body, as a receiver
// does: one of its v1 signatures must match, and its time must be within
// tolerance of now (zero tolerance skips the time check).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("notify: malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)).Abs(); tolerance > 0 && d > tolerance {
		return fmt.Errorf("notify: signature time is %s from now, more than %s", d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("notify: signature does not match")
}
