package mailscore

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// valueScorer scores an observation as the Value of its "SCORE" signal and
// flags at 5, so Evaluate can be checked against figures worked by hand.
type valueScorer struct{}

func (valueScorer) Score(obs *Observation) Verdict {
	v := Verdict{Scorer: "value"}
	for _, s := range obs.Signals {
		if s.Symbol == "SCORE" {
			v.Score = s.Value
		}
	}
	if v.Score >= 5 {
		v.Action = ActionTag
	}
	if v.Score >= 10 {
		v.Action = ActionReject
	}
	return v
}

func labeled(label Label, score float64, extra ...string) Labeled {
	obs := &Observation{Signals: []Signal{{Symbol: "SCORE", Value: score, Confidence: 1}}}
	for _, e := range extra {
		obs.Signals = append(obs.Signals, Signal{Symbol: e, Confidence: 1})
	}
	return Labeled{Label: label, Obs: obs}
}

func TestEvaluateByHand(t *testing.T) {
	data := []Labeled{
		labeled(Spam, 3, "URL"), labeled(Spam, 5, "URL"), labeled(Spam, 12, "URL", "GTUBE"),
		labeled(Ham, 1), labeled(Ham, 4, "URL"), labeled(Ham, 6),
		{Label: LabelUnknown, Obs: &Observation{}}, // skipped
	}
	r := Evaluate(valueScorer{}, data)
	require.Equal(t, "value", r.Scorer)
	require.Equal(t, 3, r.Ham)
	require.Equal(t, 3, r.Spam)
	// Pairs (spam, ham) with spam above: 3>1; 5>1, 5>4; 12>1, 12>4, 12>6 = 6 of 9.
	require.InDelta(t, 6.0/9, float64(r.AUC), 1e-12)
	// Flagged at 5: spam 5 and 12 caught, 3 missed; ham 6 flagged.
	require.Equal(t, Confusion{TruePositive: 2, FalseNegative: 1, FalsePositive: 1, TrueNegative: 2}, r.Confusion)
	require.Equal(t, ActionCount{Action: ActionAccept, Ham: 2, Spam: 1}, r.Actions[ActionAccept])
	require.Equal(t, ActionCount{Action: ActionTag, Ham: 1, Spam: 1}, r.Actions[ActionTag])
	require.Equal(t, ActionCount{Action: ActionReject, Ham: 0, Spam: 1}, r.Actions[ActionReject])
	// With 3 ham, 0.1% and 1% both allow no false positive: the threshold
	// is the highest ham score (6) and only the spam above it counts.
	for _, p := range r.Recall {
		require.Equal(t, 6.0, float64(p.Threshold))
		require.InDelta(t, 1.0/3, float64(p.Recall), 1e-12)
		require.Equal(t, 0.0, float64(p.Actual))
	}
	rates := map[string]SymbolRate{}
	for _, s := range r.Symbols {
		rates[s.Symbol] = s
	}
	require.Equal(t, SymbolRate{Symbol: "URL", SpamHits: 3, HamHits: 1, SpamRate: 1, HamRate: 1.0 / 3}, rates["URL"])
	require.Equal(t, SymbolRate{Symbol: "GTUBE", SpamHits: 1, SpamRate: 1.0 / 3}, rates["GTUBE"])
	require.Equal(t, "URL", r.Symbols[0].Symbol, "most discriminating symbol first")
}

func TestEvaluateTiesAndFPR(t *testing.T) {
	// Ties count half: spam {2, 2}, ham {2, 1}: pairs above 2 (vs 1), ties 2.
	r := Evaluate(valueScorer{}, []Labeled{labeled(Spam, 2), labeled(Spam, 2), labeled(Ham, 2), labeled(Ham, 1)})
	require.InDelta(t, (2+0.5*2)/4.0, float64(r.AUC), 1e-12)

	// 1,000 ham scored 0..999; spam at 995.5 and 998.5. At 0.1% one false
	// positive is allowed, so the threshold is the second highest ham (998)
	// and only 998.5 is caught; at 0.5% five are allowed (threshold 994) and
	// at 1% ten (threshold 989), and both spam are caught.
	var data []Labeled
	for i := range 1000 {
		data = append(data, labeled(Ham, float64(i)))
	}
	data = append(data, labeled(Spam, 995.5), labeled(Spam, 998.5))
	r = Evaluate(valueScorer{}, data)
	require.Equal(t, 998.0, float64(r.Recall[0].Threshold))
	require.InDelta(t, 0.5, float64(r.Recall[0].Recall), 1e-12)
	require.InDelta(t, 0.001, float64(r.Recall[0].Actual), 1e-12)
	require.Equal(t, 994.0, float64(r.Recall[1].Threshold))
	require.InDelta(t, 1.0, float64(r.Recall[1].Recall), 1e-12)
	require.Equal(t, 989.0, float64(r.Recall[2].Threshold))
	require.InDelta(t, 1.0, float64(r.Recall[2].Recall), 1e-12)
}

func TestEvaluateEmptyClassIsUndefinedNotZero(t *testing.T) {
	r := Evaluate(valueScorer{}, []Labeled{labeled(Spam, 1)})
	require.True(t, math.IsNaN(float64(r.AUC)))
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"roc_auc":null`)
	require.Contains(t, r.String(), "ROC AUC")
}
