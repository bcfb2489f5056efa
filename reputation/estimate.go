package reputation

import (
	"fmt"
	"math"
	"time"
)

// State says whether reputation could be judged.
type State int

// States. Only Known contributes to a score.
const (
	Unknown State = iota // too little evidence to judge: neutral, confidence 0
	Known                // enough evidence: a score with a confidence
	Failed               // the store failed: unknown, and the check reports an error
)

func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Known:
		return "known"
	case Failed:
		return "error"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Estimate is the reputation of one key at one time.
type Estimate struct {
	Key   Key
	State State
	// Score is the posterior reputation on the SenderBase-like scale:
	// -10 (all spam) .. 0 (neutral) .. +10 (all ham). It is computed for
	// every state but only counts when State is Known.
	Score float64
	// Low and High bound the score's 95% credible interval.
	Low, High float64
	// Confidence is in [0, 1]: 0 at the edge of "enough evidence" and
	// below it, 1 when the interval has shrunk to a point.
	Confidence float64
	// Spam and Ham are the effective counts: decayed and weighted by
	// source.
	Spam, Ham float64
	// Seen is the decayed number of messages checked.
	Seen float64
	// Shared is, for a network (IPv4 /24, IPv6 /48), the decayed number of
	// distinct senders (by authenticated domain) seen on it; for a domain,
	// the number of other domains seen authenticating together with it.
	Shared              float64
	FirstSeen, LastSeen time.Time
}

// Evidence returns the effective number of labelled messages, Spam + Ham.
func (e Estimate) Evidence() float64 { return e.Spam + e.Ham }

// Value returns the estimate as a signal value: -Score/10 when Known
// (positive is spam-ward), 0 otherwise.
func (e Estimate) Value() float64 {
	if e.State != Known {
		return 0
	}
	return -e.Score / 10
}

// Label names the score's band: bad, poor, neutral, fair or good.
func (e Estimate) Label() string { return scoreLabel(e.Score) }

func scoreLabel(score float64) string {
	switch {
	case score <= -6:
		return "bad"
	case score <= -2:
		return "poor"
	case score < 2:
		return "neutral"
	case score < 6:
		return "fair"
	}
	return "good"
}

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// model holds the estimator's parameters (see the package documentation).
type model struct {
	a0       float64 // prior pseudo-count on each side
	sdMax    float64 // largest posterior sd that counts as enough evidence
	wUser    float64
	wTrap    float64
	wVerdict float64
}

// est is the estimator's output for one key.
type est struct {
	known      bool
	spam, ham  float64 // effective counts
	p, sd      float64 // posterior mean and sd of the spam probability
	score      float64 // 10(1-2p)
	confidence float64 // 0 unless known
}

// estimate turns decayed evidence into a posterior: Beta(a0+S, a0+H).
func (m *model) estimate(e *Evidence) est {
	var r est
	m.estimateInto(e, &r)
	return r
}

// estimateInto is estimate writing to r. It is a chain of divisions and a
// square root: the Checker runs it over all of a message's keys in one
// loop, so that the processor overlaps the chains.
func (m *model) estimateInto(e *Evidence, r *est) {
	spam := m.wUser*float64(e.SpamUser) + m.wTrap*float64(e.SpamTrap) + m.wVerdict*float64(e.SpamVerdict)
	ham := m.wUser*float64(e.HamUser) + m.wVerdict*float64(e.HamVerdict)
	a, b := m.a0+spam, m.a0+ham
	n := a + b
	p := a / n
	sd := math.Sqrt(p * (1 - p) / (n + 1))
	known := sd <= m.sdMax
	confidence := 0.0
	if known {
		confidence = 1 - sd/m.sdMax
	}
	*r = est{known: known, spam: spam, ham: ham, p: p, sd: sd, score: 10 * (1 - 2*p), confidence: confidence}
}

// toEstimate fills the public form.
func (r est) toEstimate(k Key, e *Evidence) Estimate {
	out := Estimate{
		Key:       k,
		Score:     r.score,
		Low:       math.Max(-10, r.score-20*z95*r.sd),
		High:      math.Min(10, r.score+20*z95*r.sd),
		Spam:      r.spam,
		Ham:       r.ham,
		Seen:      float64(e.Seen),
		Shared:    float64(e.Tenants),
		FirstSeen: e.FirstSeen(),
		LastSeen:  e.LastSeen(),
	}
	if r.known {
		out.State, out.Confidence = Known, r.confidence
	}
	return out
}
