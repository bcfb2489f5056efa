package mailscore

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Action is what a verdict recommends the receiving MTA do.
type Action int

// Actions, from mildest to harshest.
const (
	ActionAccept Action = iota // deliver
	ActionTag                  // deliver, marked as likely spam
	ActionDefer                // answer 4xx: try again when the missing evidence is in
	ActionReject               // answer 5xx
)

var actionNames = [...]string{"accept", "tag", "defer", "reject"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if string(b) == n {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("mailscore: unknown action %q", b)
}

// Factor is one signal as the scorer weighed it.
type Factor struct {
	Check        string  `json:"check"`
	Symbol       string  `json:"symbol"`
	Weight       float64 `json:"weight"`
	Value        float64 `json:"value"`
	Confidence   float64 `json:"confidence"`
	Contribution float64 `json:"contribution"`
	Reason       string  `json:"reason"`
	Keys         []Key   `json:"keys,omitempty"`
}

// Verdict is a scored message: the score, the action, every factor sorted
// by the size of its contribution, and the checks that did not finish.
type Verdict struct {
	Scorer     string       `json:"scorer"`
	Score      float64      `json:"score"`
	Action     Action       `json:"action"`
	Thresholds Thresholds   `json:"thresholds"`
	Factors    []Factor     `json:"factors"`
	Incomplete []Incomplete `json:"incomplete,omitempty"`
}

// Dominant returns the factor with the largest contribution, and false when
// no factor contributed anything.
func (v *Verdict) Dominant() (Factor, bool) {
	for _, f := range v.Factors {
		if f.Contribution != 0 {
			return f, true
		}
	}
	return Factor{}, false
}

// Unknowns returns the factors that carried no evidence (confidence 0).
func (v *Verdict) Unknowns() []Factor {
	var out []Factor
	for _, f := range v.Factors {
		if f.Confidence == 0 {
			out = append(out, f)
		}
	}
	return out
}

func fmtPoints(x float64) string {
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func signedPoints(x float64) string {
	if x >= 0 {
		return "+" + fmtPoints(x)
	}
	return fmtPoints(x)
}

func evidenceWords(c float64) string {
	switch {
	case c >= 0.9:
		return "strong evidence"
	case c >= 0.6:
		return "good evidence"
	case c >= 0.3:
		return "some evidence"
	case c > 0:
		return "little evidence"
	}
	return "no evidence"
}

// Explain returns a short paragraph for a postmaster: the score and action,
// the factor that dominated and the evidence behind it, the next largest
// factors, and what was unknown or unfinished.
func (v *Verdict) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Score %s: %s (tag at %s, reject at %s).", fmtPoints(v.Score), v.Action,
		fmtPoints(v.Thresholds.Tag), fmtPoints(v.Thresholds.Reject))
	d, ok := v.Dominant()
	if !ok {
		b.WriteString(" No factor contributed to the score.")
	} else {
		fmt.Fprintf(&b, " Dominant factor: %s %s from %s (%s, confidence %.2f): %s.",
			d.Symbol, signedPoints(d.Contribution), d.Check, evidenceWords(d.Confidence), d.Confidence,
			strings.TrimSuffix(d.Reason, "."))
		var others []string
		rest, restN := 0.0, 0
		for _, f := range v.Factors[1:] {
			if f.Contribution == 0 {
				continue
			}
			if len(others) < 3 {
				others = append(others, fmt.Sprintf("%s %s (confidence %.2f)", f.Symbol, signedPoints(f.Contribution), f.Confidence))
			} else {
				rest += f.Contribution
				restN++
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(&b, " Also: %s", strings.Join(others, ", "))
			if restN > 0 {
				fmt.Fprintf(&b, "; %d smaller factors sum to %s", restN, signedPoints(rest))
			}
			b.WriteString(".")
		}
	}
	if u := v.Unknowns(); len(u) > 0 {
		parts := make([]string, 0, min(len(u), maxExplained))
		for i, f := range u {
			if i == maxExplained {
				parts = append(parts, fmt.Sprintf("and %d more", len(u)-i))
				break
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", f.Symbol, clip(f.Reason, 80)))
		}
		fmt.Fprintf(&b, " Unknown, counted as neutral: %s.", strings.Join(parts, "; "))
	}
	if len(v.Incomplete) > 0 {
		parts := make([]string, 0, len(v.Incomplete))
		for _, inc := range v.Incomplete {
			parts = append(parts, fmt.Sprintf("%s (%s)", inc.Check, clip(inc.Reason, 100)))
		}
		fmt.Fprintf(&b, " Incomplete checks, their missing evidence not held against the message: %s.", strings.Join(parts, "; "))
		if v.Action == ActionDefer {
			b.WriteString(" Deferred because the unfinished checks could have pulled the score under the reject threshold.")
		}
	}
	return b.String()
}

// maxExplained is how many unknown factors Explain names.
const maxExplained = 5

// clip shortens a reason to about n characters, at a word boundary, and
// drops a final period.
func clip(s string, n int) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// round keeps JSON free of float noise such as 0.30000000000000004.
func round(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1e6) / 1e6
}

// MarshalJSON writes the verdict with a fixed field order, numbers rounded to
// six decimals, the dominant factor named, and the explanation included.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type factor Factor
	type out struct {
		Scorer     string       `json:"scorer"`
		Score      float64      `json:"score"`
		Action     Action       `json:"action"`
		Dominant   string       `json:"dominant"`
		Thresholds Thresholds   `json:"thresholds"`
		Factors    []factor     `json:"factors"`
		Incomplete []Incomplete `json:"incomplete"`
		Explain    string       `json:"explanation"`
	}
	o := out{Scorer: v.Scorer, Score: round(v.Score), Action: v.Action, Thresholds: v.Thresholds,
		Factors: make([]factor, len(v.Factors)), Incomplete: v.Incomplete, Explain: v.Explain()}
	if d, ok := v.Dominant(); ok {
		o.Dominant = d.Symbol
	}
	if o.Incomplete == nil {
		o.Incomplete = []Incomplete{}
	}
	for i, f := range v.Factors {
		f.Weight, f.Value, f.Confidence, f.Contribution = round(f.Weight), round(f.Value), round(f.Confidence), round(f.Contribution)
		o.Factors[i] = factor(f)
	}
	return json.Marshal(o)
}

// headerSafe keeps only characters that cannot break a header line or its
// syntax.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return -1
	}, s)
}

// MaxHeaderFactors is how many factors HeaderValue lists.
const MaxHeaderFactors = 8

// HeaderValue returns a value for an X-Mailscore header field, for example
//
//	score=7.50; action=tag; dominant=SPF_FAIL; factors=SPF_FAIL:+3.00,DKIM_INVALID:+2.50; incomplete=reputation
//
// It holds only characters that cannot inject a header line, and lists at
// most MaxHeaderFactors factors, so it fits one line.
func (v *Verdict) HeaderValue() string {
	var b strings.Builder
	fmt.Fprintf(&b, "score=%s; action=%s", fmtPoints(v.Score), v.Action)
	if d, ok := v.Dominant(); ok {
		fmt.Fprintf(&b, "; dominant=%s", headerSafe(d.Symbol))
	}
	n := 0
	for _, f := range v.Factors {
		if f.Contribution == 0 || n == MaxHeaderFactors {
			continue
		}
		if n == 0 {
			b.WriteString("; factors=")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(headerSafe(f.Symbol))
		b.WriteByte(':')
		b.WriteString(signedPoints(f.Contribution))
		n++
	}
	if len(v.Incomplete) > 0 {
		b.WriteString("; incomplete=")
		for i, inc := range v.Incomplete {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(headerSafe(inc.Check))
		}
	}
	return b.String()
}
