package mailscore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Labeled is an observed message whose true label is known.
type Labeled struct {
	Name  string       `json:"name,omitempty"`
	Label Label        `json:"label"`
	Obs   *Observation `json:"observation"`
}

// Confusion counts predictions against labels, with "spam" predicted when
// the action is tag, defer or reject.
type Confusion struct {
	TruePositive  int `json:"true_positive"`  // spam flagged
	FalsePositive int `json:"false_positive"` // ham flagged
	TrueNegative  int `json:"true_negative"`  // ham accepted
	FalseNegative int `json:"false_negative"` // spam accepted
}

// ActionCount says how many ham and spam messages got one action.
type ActionCount struct {
	Action Action `json:"action"`
	Ham    int    `json:"ham"`
	Spam   int    `json:"spam"`
}

// RecallPoint is the share of spam caught when the threshold is set so that
// no more than FPR of the ham is caught.
type RecallPoint struct {
	FPR       float64 `json:"fpr"`        // the false-positive rate allowed
	Actual    Metric  `json:"actual_fpr"` // the false-positive rate at Threshold
	Threshold Metric  `json:"threshold"`  // flag when score > Threshold
	Recall    Metric  `json:"recall"`
}

// SymbolRate is how often a symbol fired (with confidence above 0) among
// spam and among ham.
type SymbolRate struct {
	Symbol   string  `json:"symbol"`
	SpamHits int     `json:"spam_hits"`
	HamHits  int     `json:"ham_hits"`
	SpamRate float64 `json:"spam_rate"`
	HamRate  float64 `json:"ham_rate"`
}

// Report measures a Scorer on a labelled corpus.
type Report struct {
	Scorer    string        `json:"scorer"`
	Ham       int           `json:"ham"`
	Spam      int           `json:"spam"`
	AUC       Metric        `json:"roc_auc"`
	Confusion Confusion     `json:"confusion"`
	Actions   []ActionCount `json:"actions"`
	Recall    []RecallPoint `json:"recall_at_fpr"`
	Symbols   []SymbolRate  `json:"symbols"`
}

// Metric is a measured figure; NaN (undefined, e.g. AUC without any ham) and
// infinities are written to JSON as null.
type Metric float64

// MarshalJSON implements json.Marshaler.
func (m Metric) MarshalJSON() ([]byte, error) {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(round(f))
}

// FPR targets Evaluate reports recall at.
var evalFPRs = [...]float64{0.001, 0.005, 0.01}

// Evaluate scores every labelled observation with scorer and measures the
// result: ROC AUC, the confusion matrix at the scorer's own thresholds, spam
// recall at 0.1%, 0.5% and 1% false positives, and per-symbol hit rates. Messages
// whose label is neither spam nor ham are skipped.
func Evaluate(scorer Scorer, data []Labeled) Report {
	var r Report
	var ham, spam []float64
	actions := make([]ActionCount, len(actionNames))
	for i := range actions {
		actions[i].Action = Action(i)
	}
	type hits struct{ spam, ham int }
	symHits := map[string]*hits{}
	for _, d := range data {
		if d.Obs == nil || (d.Label != Spam && d.Label != Ham) {
			continue
		}
		v := scorer.Score(d.Obs)
		if r.Scorer == "" {
			r.Scorer = v.Scorer
		}
		flagged := v.Action != ActionAccept
		isSpam := d.Label == Spam
		if isSpam {
			spam = append(spam, v.Score)
			if flagged {
				r.Confusion.TruePositive++
			} else {
				r.Confusion.FalseNegative++
			}
		} else {
			ham = append(ham, v.Score)
			if flagged {
				r.Confusion.FalsePositive++
			} else {
				r.Confusion.TrueNegative++
			}
		}
		if a := int(v.Action); a >= 0 && a < len(actions) {
			if isSpam {
				actions[a].Spam++
			} else {
				actions[a].Ham++
			}
		}
		seen := map[string]bool{}
		for _, s := range d.Obs.Signals {
			if s.Confidence <= 0 || seen[s.Symbol] {
				continue
			}
			seen[s.Symbol] = true
			h := symHits[s.Symbol]
			if h == nil {
				h = &hits{}
				symHits[s.Symbol] = h
			}
			if isSpam {
				h.spam++
			} else {
				h.ham++
			}
		}
	}
	r.Ham, r.Spam = len(ham), len(spam)
	r.Actions = actions
	r.AUC = rocAUC(spam, ham)
	slices.SortFunc(ham, func(a, b float64) int { return cmp.Compare(b, a) })
	for _, fpr := range evalFPRs {
		r.Recall = append(r.Recall, recallAt(spam, ham, fpr))
	}
	for name, h := range symHits {
		r.Symbols = append(r.Symbols, SymbolRate{
			Symbol: name, SpamHits: h.spam, HamHits: h.ham,
			SpamRate: ratio(h.spam, r.Spam), HamRate: ratio(h.ham, r.Ham),
		})
	}
	slices.SortFunc(r.Symbols, func(a, b SymbolRate) int {
		if c := cmp.Compare(math.Abs(b.SpamRate-b.HamRate), math.Abs(a.SpamRate-a.HamRate)); c != 0 {
			return c
		}
		return cmp.Compare(a.Symbol, b.Symbol)
	})
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// rocAUC is the probability that a random spam scores above a random ham,
// ties counting half (the Mann-Whitney U statistic over nSpam x nHam).
func rocAUC(spam, ham []float64) Metric {
	if len(spam) == 0 || len(ham) == 0 {
		return Metric(math.NaN())
	}
	type pt struct {
		s    float64
		spam bool
	}
	all := make([]pt, 0, len(spam)+len(ham))
	for _, s := range spam {
		all = append(all, pt{s, true})
	}
	for _, s := range ham {
		all = append(all, pt{s, false})
	}
	slices.SortFunc(all, func(a, b pt) int { return cmp.Compare(a.s, b.s) })
	rankSum := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j averaged
		for k := i; k < j; k++ {
			if all[k].spam {
				rankSum += avg
			}
		}
		i = j
	}
	ns, nh := float64(len(spam)), float64(len(ham))
	return Metric((rankSum - ns*(ns+1)/2) / (ns * nh))
}

// recallAt finds the lowest threshold that flags at most fpr of the ham
// (hamDesc sorted high to low) and the share of spam it flags.
func recallAt(spam, hamDesc []float64, fpr float64) RecallPoint {
	p := RecallPoint{FPR: fpr}
	if len(spam) == 0 || len(hamDesc) == 0 {
		nan := Metric(math.NaN())
		p.Recall, p.Actual, p.Threshold = nan, nan, nan
		return p
	}
	k := int(math.Floor(fpr * float64(len(hamDesc))))
	if k >= len(hamDesc) {
		p.Threshold = Metric(math.Inf(-1))
		p.Recall, p.Actual = 1, 1
		return p
	}
	t := hamDesc[k]
	p.Threshold = Metric(t)
	fp := 0
	for _, h := range hamDesc {
		if h > t {
			fp++
		}
	}
	caught := 0
	for _, s := range spam {
		if s > t {
			caught++
		}
	}
	p.Actual = Metric(ratio(fp, len(hamDesc)))
	p.Recall = Metric(ratio(caught, len(spam)))
	return p
}

// String formats the report as a few aligned tables.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scorer %s: %d ham, %d spam\n", r.Scorer, r.Ham, r.Spam)
	fmt.Fprintf(&b, "ROC AUC            %.4f\n", r.AUC)
	for _, p := range r.Recall {
		fmt.Fprintf(&b, "recall @ %5.1f%% FP %6.2f%%  (score > %.2f, actual FP %.2f%%)\n",
			p.FPR*100, p.Recall*100, p.Threshold, p.Actual*100)
	}
	c := r.Confusion
	fmt.Fprintf(&b, "\nat the scorer's thresholds (flagged = tag, defer or reject):\n")
	fmt.Fprintf(&b, "          flagged  accepted\n")
	fmt.Fprintf(&b, "spam     %8d  %8d   recall %.2f%%\n", c.TruePositive, c.FalseNegative, 100*ratio(c.TruePositive, r.Spam))
	fmt.Fprintf(&b, "ham      %8d  %8d   false positives %.2f%%\n", c.FalsePositive, c.TrueNegative, 100*ratio(c.FalsePositive, r.Ham))
	fmt.Fprintf(&b, "\naction        ham     spam\n")
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "%-8s %8d %8d\n", a.Action, a.Ham, a.Spam)
	}
	if len(r.Symbols) > 0 {
		fmt.Fprintf(&b, "\n%-28s %8s %8s\n", "symbol", "spam", "ham")
		for _, s := range r.Symbols {
			fmt.Fprintf(&b, "%-28s %7.2f%% %7.2f%%\n", s.Symbol, 100*s.SpamRate, 100*s.HamRate)
		}
	}
	return b.String()
}
