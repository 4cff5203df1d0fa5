package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden"
)

// fleet holds the estate-wide counts of one scrape.
type fleet struct {
	endpoints    map[string]int    // by org
	compliance   map[[3]string]int // by org, profile, compliance
	grades       map[string]int
	minVersions  map[string]int
	scanResults  map[string]int
	failing      map[ruleKey]int
	lastSuccess  float64
	anySuccesses bool
}

func newFleet() *fleet {
	f := &fleet{endpoints: map[string]int{}, compliance: map[[3]string]int{}, grades: map[string]int{},
		minVersions: map[string]int{}, scanResults: map[string]int{}, failing: map[ruleKey]int{}}
	// Export zeros for the states every estate has, so that queries and
	// alerts never meet a missing series.
	for _, g := range gradeLabels {
		f.grades[g] = 0
	}
	for _, v := range append(versionLabels, "none") {
		f.minVersions[v] = 0
	}
	for _, r := range []string{"success", "failed", "never"} {
		f.scanResults[r] = 0
	}
	return f
}

// add counts one endpoint.
func (f *fleet) add(e *entry) {
	st, m := e.state, e.m
	// Label values come from the store: replace invalid UTF-8 here, so
	// that owners differing only in it are counted once, and never fail
	// the scrape.
	org := validLabel(st.Target.Owner)
	f.endpoints[org]++
	switch {
	case st.Latest.ID == 0:
		f.scanResults["never"]++
	case st.LatestFailure != "":
		f.scanResults["failed"]++
	default:
		f.scanResults["success"]++
	}
	if m == nil {
		f.compliance[[3]string{org, "", string(tlswarden.ComplianceUnknown)}]++
		f.grades["none"]++
		f.minVersions["none"]++
		return
	}
	f.addMeasured(org, m)
	if t := timestamp(st.LastSuccess.Finished); t > f.lastSuccess {
		f.lastSuccess, f.anySuccesses = t, true
	}
}

func (f *fleet) addMeasured(org string, m *measured) {
	compliance := m.compliance
	if !m.evaluated {
		compliance = tlswarden.ComplianceUnknown
	}
	f.compliance[[3]string{org, validLabel(m.profile), validLabel(string(compliance))}]++
	grade := m.grade
	if grade == "" {
		grade = "none"
	}
	f.grades[grade]++
	minVersion := "none"
	if m.minVer >= 0 {
		minVersion = versionLabels[m.minVer]
	}
	f.minVersions[minVersion]++
	for _, k := range m.failedRules {
		f.failing[ruleKey{validLabel(k.rule), validLabel(k.severity)}]++
	}
}

// emitFleet sends the fleet summaries.
func (c *PostureCollector) emitFleet(ch chan<- prometheus.Metric, entries []entry) {
	f := newFleet()
	for i := range entries {
		f.add(&entries[i])
	}
	d := &c.d
	for org, n := range f.endpoints {
		gauge(ch, d.endpoints, float64(n), org)
	}
	for k, n := range f.compliance {
		gauge(ch, d.byCompliance, float64(n), k[0], k[1], k[2])
	}
	for g, n := range f.grades {
		gauge(ch, d.byGrade, float64(n), g)
	}
	for v, n := range f.minVersions {
		gauge(ch, d.byMinVersion, float64(n), v)
	}
	for r, n := range f.scanResults {
		gauge(ch, d.byScanResult, float64(n), r)
	}
	for k, n := range f.failing {
		gauge(ch, d.failing, float64(n), k.rule, k.severity)
	}
	if f.anySuccesses {
		gauge(ch, d.lastSuccess, f.lastSuccess)
	}
}
