package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestInputValidation sends the API bad input of every kind it takes:
// each is a 4xx with a JSON error, naming the field where there is one.
func TestInputValidation(t *testing.T) {
	e := newEnv(t, "sqlite", false)
	e.want("POST", "/api/v1/targets", map[string]any{"host": "taken.example"}, http.StatusCreated, nil)
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		// Hostnames.
		{"empty host", "POST", "/api/v1/targets", `{"host": ""}`, 400, "host"},
		{"host with a space", "POST", "/api/v1/targets", `{"host": "bad host"}`, 400, "host"},
		{"host over 253 bytes", "POST", "/api/v1/targets", `{"host": "` + strings.Repeat(long+".", 4) + `example"}`, 400, "host"},
		{"label over 63 bytes", "POST", "/api/v1/targets", `{"host": "` + long + `a.example"}`, 400, "host"},
		{"empty label", "POST", "/api/v1/targets", `{"host": "a..example"}`, 400, "host"},
		{"label starting with a hyphen", "POST", "/api/v1/targets", `{"host": "-a.example"}`, 400, "host"},
		{"IDN that is not", "POST", "/api/v1/targets", `{"host": "bü cher.example"}`, 400, "host"},
		{"URL with a path as host", "POST", "/api/v1/targets", `{"host": "https://a.example/index.html"}`, 400, "host"},
		{"IPv6 zone", "POST", "/api/v1/targets", `{"host": "fe80::1%eth0"}`, 400, "host"},
		{"control character", "POST", "/api/v1/targets", `{"host": "a\u0000.example"}`, 400, "host"},
		// Ports.
		{"port 0", "POST", "/api/v1/targets", `{"host": "a.example", "port": 0}`, 400, "port"},
		{"port 65536", "POST", "/api/v1/targets", `{"host": "a.example", "port": 65536}`, 400, "port"},
		{"negative port", "POST", "/api/v1/targets", `{"host": "a.example", "port": -1}`, 400, "port"},
		{"port as string", "POST", "/api/v1/targets", `{"host": "a.example", "port": "443"}`, 400, ""},
		{"fractional port", "POST", "/api/v1/targets", `{"host": "a.example", "port": 443.5}`, 400, ""},
		// JSON bodies.
		{"unknown field", "POST", "/api/v1/targets", `{"host": "a.example", "colour": "red"}`, 400, ""},
		{"trailing data", "POST", "/api/v1/targets", `{"host": "a.example"} {}`, 400, ""},
		{"not JSON", "POST", "/api/v1/targets", `host=a.example`, 400, ""},
		{"array for object", "POST", "/api/v1/targets", `[{"host": "a.example"}]`, 400, ""},
		{"object for array", "POST", "/api/v1/targets/import", `{"host": "a.example"}`, 400, ""},
		{"empty body", "POST", "/api/v1/targets", ``, 400, ""},
		{"body over the cap", "POST", "/api/v1/targets", `{"host": "` + strings.Repeat("a", 5000) + `"}`, 413, ""},
		{"unknown field on patch", "PATCH", "/api/v1/targets/1", `{"hots": "a.example"}`, 400, ""},
		{"bad kind", "POST", "/api/v1/targets", `{"host": "a.example", "kind": "gopher"}`, 400, "kind"},
		{"bad tag", "POST", "/api/v1/targets", `{"host": "a.example", "tags": ["no spaces"]}`, 400, "tags"},
		{"bad schedule", "POST", "/api/v1/targets", `{"host": "a.example", "schedule": "every day"}`, 400, "schedule"},
		{"cron out of range", "POST", "/api/v1/targets", `{"host": "a.example", "schedule": "99 99 99 99 99"}`, 400, "schedule"},
		{"unknown descriptor", "POST", "/api/v1/targets", `{"host": "a.example", "schedule": "@bogus"}`, 400, "schedule"},
		{"interval under a minute", "PATCH", "/api/v1/targets/1", `{"schedule": "@every 30s"}`, 400, "schedule"},
		{"unknown field in a scan request", "POST", "/api/v1/targets/1/scans", `{"by": "me"}`, 400, ""},
		// Query parameters.
		{"bad severity", "GET", "/api/v1/findings?severity=dire", "", 400, "severity"},
		{"bad min severity", "GET", "/api/v1/findings?min_severity=9", "", 400, "min_severity"},
		{"bad outcome", "GET", "/api/v1/findings?outcome=pass", "", 400, "outcome"},
		{"bad time", "GET", "/api/v1/events?since=yesterday", "", 400, "since"},
		{"negative duration", "GET", "/api/v1/events?since=-1h", "", 400, "since"},
		{"bad event kind", "GET", "/api/v1/events?kind=Exploded!", "", 400, "kind"},
		{"limit 0", "GET", "/api/v1/scans?limit=0", "", 400, "limit"},
		{"limit over the maximum", "GET", "/api/v1/findings?limit=1001", "", 400, "limit"},
		{"limit not a number", "GET", "/api/v1/events?limit=ten", "", 400, "limit"},
		{"bad target_id", "GET", "/api/v1/scans?target_id=-3", "", 400, "target_id"},
		{"bad after_id", "GET", "/api/v1/findings?after_id=x", "", 400, "after_id"},
		{"bad boolean", "GET", "/api/v1/targets?enabled=maybe", "", 400, "enabled"},
		{"bad version", "GET", "/api/v1/endpoints?accepts_below=TLSv9", "", 400, "accepts_below"},
		{"bad compliance", "GET", "/api/v1/endpoints?compliance=mostly", "", 400, "compliance"},
		{"bad status", "GET", "/api/v1/endpoints?status=Fine!", "", 400, "status"},
		// Paths.
		{"ID not a number", "GET", "/api/v1/targets/abc", "", 404, ""},
		{"ID zero", "GET", "/api/v1/scans/0", "", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, data := e.call(tc.method, tc.path, tc.body)
			var eb errorBody
			if err := json.Unmarshal(data, &eb); err != nil || status != tc.status {
				t.Fatalf("status %d, want %d: %v: %s", status, tc.status, err, data)
			}
			if eb.Error == "" || eb.Field != tc.field {
				t.Errorf("error %+v, want a message and field %q", eb, tc.field)
			}
		})
	}
}
