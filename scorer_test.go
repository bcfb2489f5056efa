package mailscore

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sig(check, symbol string, value, conf float64) Signal {
	return Signal{Check: check, Symbol: symbol, Value: value, Confidence: conf, Reason: symbol + " reason"}
}

var testSymbols = map[string]Symbol{
	"SPF_PASS":      {Name: "SPF_PASS", Check: "auth", Weight: -1, Group: "spf"},
	"SPF_FAIL":      {Name: "SPF_FAIL", Check: "auth", Weight: 3, Group: "spf"},
	"DKIM_VALID":    {Name: "DKIM_VALID", Check: "auth", Weight: -2, Group: "dkim"},
	"IP_REPUTATION": {Name: "IP_REPUTATION", Check: "reputation", Weight: 5, Signed: true},
	"BAYES":         {Name: "BAYES", Check: "content", Weight: 10, Signed: true},
	"GTUBE":         {Name: "GTUBE", Check: "content", Weight: 100},
}

func TestWeightedScorerArithmetic(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		sig("auth", "SPF_FAIL", 1, 1),                 // 3 x 1 x 1 = 3
		sig("reputation", "IP_REPUTATION", -0.5, 0.8), // 5 x -0.5 x 0.8 = -2
		sig("content", "BAYES", 0.9, 0.5),             // 10 x 0.9 x 0.5 = 4.5
		sig("content", "NEW_SYMBOL", 1, 0.25),         // unknown symbol: weight 1 -> 0.25
	}}
	v := (&WeightedScorer{}).Score(obs)
	require.InDelta(t, 3-2+4.5+0.25, v.Score, 1e-9)
	byName := map[string]Factor{}
	for _, f := range v.Factors {
		byName[f.Symbol] = f
	}
	require.InDelta(t, -2, byName["IP_REPUTATION"].Contribution, 1e-9)
	require.InDelta(t, 4.5, byName["BAYES"].Contribution, 1e-9)
	require.Equal(t, 1.0, byName["NEW_SYMBOL"].Weight)

	// Caller overrides beat the checks' defaults; UnknownWeight applies to the rest.
	v = (&WeightedScorer{Weights: map[string]float64{"SPF_FAIL": 10}, UnknownWeight: 4}).Score(obs)
	require.InDelta(t, 10-2+4.5+1, v.Score, 1e-9)
}

func TestWeightedScorerClampsHostileValues(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		sig("content", "BAYES", 50, 1),            // value clamped to 1
		sig("content", "GTUBE", math.NaN(), 1),    // NaN counts as 0
		sig("auth", "SPF_FAIL", 1, 7),             // confidence clamped to 1
		sig("auth", "DKIM_VALID", 1, math.Inf(1)), // clamped to 1
	}}
	v := (&WeightedScorer{}).Score(obs)
	require.InDelta(t, 10+0+3-2, v.Score, 1e-9)
}

func TestActions(t *testing.T) {
	inc := []Incomplete{{Check: "auth", Reason: "DNS timeout"}}
	tests := []struct {
		name       string
		signals    []Signal
		incomplete []Incomplete
		want       Action
	}{
		{"nothing found", nil, nil, ActionAccept},
		{"below tag", []Signal{sig("content", "BAYES", 0.4, 1)}, nil, ActionAccept},
		{"tag", []Signal{sig("content", "BAYES", 0.5, 1)}, nil, ActionTag},
		{"reject", []Signal{sig("content", "BAYES", 1, 1), sig("reputation", "IP_REPUTATION", 1, 1)}, nil, ActionReject},
		// 15 points; auth could still have added SPF_PASS (-1) and DKIM_VALID (-2).
		{"defer: incomplete auth could pull under", []Signal{sig("content", "BAYES", 1, 1), sig("reputation", "IP_REPUTATION", 1, 1)}, inc, ActionDefer},
		// 20 points: even -3 from auth leaves 17, over 15.
		{"reject despite incomplete auth", []Signal{sig("content", "BAYES", 1, 1), sig("reputation", "IP_REPUTATION", 1, 1), sig("content", "GTUBE", 0.05, 1)}, inc, ActionReject},
		// Auth already reported its DKIM group, so only SPF (-1) is still open: 17 - 1 >= 15.
		{"groups already reported do not count", []Signal{sig("content", "BAYES", 1, 1), sig("reputation", "IP_REPUTATION", 1, 1), sig("auth", "DKIM_VALID", 0, 1), sig("content", "GTUBE", 0.02, 1)}, inc, ActionReject},
		// Missing evidence alone never defers or rejects.
		{"incomplete alone accepts", nil, inc, ActionAccept},
		{"incomplete with a tag-level score tags", []Signal{sig("content", "BAYES", 0.6, 1)}, inc, ActionTag},
		{"incomplete check with no symbols defers at reject level", []Signal{sig("content", "GTUBE", 1, 1)}, []Incomplete{{Check: "mystery"}}, ActionDefer},
		{"zero-confidence signals add nothing", []Signal{sig("content", "GTUBE", 1, 0)}, nil, ActionAccept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := (&WeightedScorer{}).Score(&Observation{Symbols: testSymbols, Signals: tt.signals, Incomplete: tt.incomplete})
			require.Equal(t, tt.want, v.Action, "score %.2f", v.Score)
		})
	}
}

func TestCustomThresholds(t *testing.T) {
	s := &WeightedScorer{Thresholds: Thresholds{Tag: 2, Reject: 4}}
	v := s.Score(&Observation{Symbols: testSymbols, Signals: []Signal{sig("auth", "SPF_FAIL", 1, 1)}})
	require.Equal(t, ActionTag, v.Action)
	require.Equal(t, Thresholds{Tag: 2, Reject: 4}, v.Thresholds)
}

func TestDominantAndOrdering(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		sig("auth", "SPF_PASS", 1, 1),            // -1
		sig("content", "BAYES", -0.8, 1),         // -8
		sig("reputation", "IP_REPUTATION", 0, 0), // unknown
		sig("auth", "SPF_FAIL", 1, 1),            // +3
		sig("content", "GTUBE", 0.03, 1),         // +3, ties with SPF_FAIL: ordered by name
	}}
	v := (&WeightedScorer{}).Score(obs)
	var order []string
	for _, f := range v.Factors {
		order = append(order, f.Symbol)
	}
	require.Equal(t, []string{"BAYES", "GTUBE", "SPF_FAIL", "SPF_PASS", "IP_REPUTATION"}, order)
	d, ok := v.Dominant()
	require.True(t, ok)
	require.Equal(t, "BAYES", d.Symbol)
	require.InDelta(t, -8, d.Contribution, 1e-9)

	empty := (&WeightedScorer{}).Score(&Observation{Signals: []Signal{sig("x", "UNKNOWN_THING", 1, 0)}})
	_, ok = empty.Dominant()
	require.False(t, ok)
}

func TestExplain(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		{Check: "auth", Symbol: "SPF_FAIL", Value: 1, Confidence: 1, Reason: "192.0.2.1 is not permitted by example.com"},
		{Check: "reputation", Symbol: "IP_REPUTATION", Confidence: 0, Reason: "2001:db8:5::/64: 3 messages in 30 days - too little evidence to judge"},
	}, Incomplete: []Incomplete{{Check: "urlcheck", Reason: "DNS timeout for example.org NS"}}}
	v := (&WeightedScorer{}).Score(obs)
	e := v.Explain()
	for _, want := range []string{
		"Score 3.00: accept",
		"Dominant factor: SPF_FAIL +3.00 from auth",
		"192.0.2.1 is not permitted by example.com",
		"IP_REPUTATION (2001:db8:5::/64: 3 messages in 30 days - too little evidence to judge)",
		"urlcheck (DNS timeout for example.org NS)",
	} {
		require.Contains(t, e, want)
	}
	require.Contains(t, (&Verdict{}).Explain(), "No factor contributed")
}

func TestVerdictJSON(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		sig("auth", "SPF_FAIL", 1, 1), sig("content", "BAYES", 0.1, 0.3),
	}, Incomplete: []Incomplete{{Check: "reputation", Reason: "store unavailable", Err: errors.New("x")}}}
	v := (&WeightedScorer{}).Score(obs)
	a, err := json.Marshal(v)
	require.NoError(t, err)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, string(a), string(b))
	var got struct {
		Score      float64 `json:"score"`
		Action     string  `json:"action"`
		Dominant   string  `json:"dominant"`
		Factors    []Factor
		Incomplete []Incomplete
	}
	require.NoError(t, json.Unmarshal(a, &got))
	require.Equal(t, "SPF_FAIL", got.Dominant)
	require.Equal(t, "accept", got.Action)
	require.Equal(t, 3.3, got.Score) // 3 + 10*0.1*0.3, rounded clean
	require.Len(t, got.Factors, 2)
	require.Equal(t, "reputation", got.Incomplete[0].Check)
	require.True(t, strings.HasPrefix(string(a), `{"scorer":"weighted","score":3.3,"action":"accept","dominant":"SPF_FAIL"`), string(a))
}

func TestHeaderValue(t *testing.T) {
	obs := &Observation{Symbols: testSymbols, Signals: []Signal{
		sig("auth", "SPF_FAIL", 1, 1),
		sig("content", "EVIL\r\nBcc: victim@example.com", 1, 1),
	}, Incomplete: []Incomplete{{Check: "rep;utation\n"}}}
	v := (&WeightedScorer{}).Score(obs)
	h := v.HeaderValue()
	require.Equal(t, "score=4.00; action=accept; dominant=SPF_FAIL; factors=SPF_FAIL:+3.00,EVILBccvictimexample.com:+1.00; incomplete=reputation", h)
	require.NotContains(t, h, "\n")
}
