package mailscore

import (
	"cmp"
	"math"
	"slices"
)

// Observation is what the checks found for one message: their signals in a
// stable order (the order the checks were given to the Engine), the checks
// that did not finish, and the symbols the checks publish. A corpus can be
// observed once and scored by many Scorers.
type Observation struct {
	Signals    []Signal     `json:"signals"`
	Incomplete []Incomplete `json:"incomplete,omitempty"`
	// Symbols maps symbol names to what the checks published about them.
	// Shared between observations; read-only.
	Symbols map[string]Symbol `json:"-"`
}

// Incomplete records a check that did not finish: it failed, timed out,
// panicked or ran past the deadline. What it could not find is unknown, not
// bad.
type Incomplete struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
	Err    error  `json:"-"`
}

// Scorer combines an observation into a verdict. Implementations must be
// safe for concurrent use.
type Scorer interface {
	Score(obs *Observation) Verdict
}

// Thresholds set the actions of the default scorer. A zero field means the
// default.
type Thresholds struct {
	Tag    float64 `json:"tag"`    // at or above: tag (default 5)
	Reject float64 `json:"reject"` // at or above: reject (default 15)
}

// Default thresholds.
const (
	DefaultTagThreshold    = 5
	DefaultRejectThreshold = 15
)

func (t Thresholds) resolved() Thresholds {
	if t.Tag == 0 {
		t.Tag = DefaultTagThreshold
	}
	if t.Reject == 0 {
		t.Reject = DefaultRejectThreshold
	}
	return t
}

// WeightedScorer is the default Scorer: each signal contributes
// weight x value x confidence, the verdict's score is their sum, and the
// thresholds pick the action. Its zero value is ready to use.
//
// The action rules: reject at or above Thresholds.Reject, but defer instead
// when the checks that did not finish could together have pulled the score
// below it; tag at or above Thresholds.Tag; accept otherwise. Missing
// evidence alone never defers or rejects: a message is only deferred when the
// evidence that is there already reaches the reject threshold.
type WeightedScorer struct {
	// Name identifies the model in reports; default "weighted".
	Name string
	// Weights override the symbols' default weights, by symbol name.
	Weights map[string]float64
	// UnknownWeight is the weight of a symbol no check published and
	// Weights does not name; 0 means 1.
	UnknownWeight float64
	Thresholds    Thresholds
}

// clamp keeps hostile or buggy values from dominating: NaN becomes 0.
func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(lo, math.Min(hi, v))
}

func (s *WeightedScorer) weight(obs *Observation, symbol string) float64 {
	if w, ok := s.Weights[symbol]; ok {
		return w
	}
	if sym, ok := obs.Symbols[symbol]; ok {
		return sym.Weight
	}
	if s.UnknownWeight != 0 {
		return s.UnknownWeight
	}
	return 1
}

// Score implements Scorer.
func (s *WeightedScorer) Score(obs *Observation) Verdict {
	th := s.Thresholds.resolved()
	name := s.Name
	if name == "" {
		name = "weighted"
	}
	v := Verdict{Scorer: name, Thresholds: th, Incomplete: obs.Incomplete}
	v.Factors = make([]Factor, len(obs.Signals))
	for i, sig := range obs.Signals {
		w := s.weight(obs, sig.Symbol)
		val := clamp(sig.Value, -1, 1)
		conf := clamp(sig.Confidence, 0, 1)
		c := w * val * conf
		if math.IsNaN(c) || math.IsInf(c, 0) {
			c = 0
		}
		v.Factors[i] = Factor{
			Check: sig.Check, Symbol: sig.Symbol, Weight: w, Value: val,
			Confidence: conf, Contribution: c, Reason: sig.Reason, Keys: sig.Keys,
		}
		v.Score += c
	}
	sortFactors(v.Factors)
	v.Action = s.action(obs, v.Score, th)
	return v
}

func (s *WeightedScorer) action(obs *Observation, score float64, th Thresholds) Action {
	switch {
	case score >= th.Reject:
		if len(obs.Incomplete) > 0 && score+s.pullDown(obs) < th.Reject {
			return ActionDefer
		}
		return ActionReject
	case score >= th.Tag:
		return ActionTag
	}
	return ActionAccept
}

// pullDown returns the most negative total the incomplete checks could still
// have added: for each incomplete check, for each group of its symbols that
// it did not already report, the most negative contribution in the group. A
// check that publishes no symbols could have done anything, so it counts as
// -Inf (the verdict defers rather than rejects).
func (s *WeightedScorer) pullDown(obs *Observation) float64 {
	total := 0.0
	for _, inc := range obs.Incomplete {
		groups := map[string]float64{}
		known := false
		for name, sym := range obs.Symbols {
			if sym.Check != inc.Check {
				continue
			}
			known = true
			g := sym.Group
			if g == "" {
				g = "\x00" + name
			}
			c := sym.minContribution(s.weight(obs, name))
			if c < groups[g] {
				groups[g] = c
			}
		}
		if !known {
			return math.Inf(-1)
		}
		for _, sig := range obs.Signals {
			if sig.Check != inc.Check || sig.Confidence <= 0 {
				continue
			}
			if sym, ok := obs.Symbols[sig.Symbol]; ok {
				g := sym.Group
				if g == "" {
					g = "\x00" + sig.Symbol
				}
				delete(groups, g) // already reported: nothing more to come from it
			}
		}
		for _, c := range groups {
			total += c
		}
	}
	return total
}

// sortFactors orders factors by the size of their contribution, largest
// first; ties by symbol then check, so the order is stable.
func sortFactors(f []Factor) {
	slices.SortStableFunc(f, func(a, b Factor) int {
		if c := cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Symbol, b.Symbol); c != 0 {
			return c
		}
		return cmp.Compare(a.Check, b.Check)
	})
}
