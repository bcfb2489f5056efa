package mailscore

import (
	"context"
	"fmt"
	"strings"
)

// Signal is one observation a check made about a message.
//
// Its contribution to the default score is weight x Value x Confidence,
// where the weight is the symbol's (see Symbol). Value says which way and
// how strongly the observation points: conventionally in [-1, 1], positive
// toward spam, negative toward ham. Confidence says how much evidence stands
// behind it: 0 means none (an unknown, which contributes nothing), 1 means
// as much as the check ever has.
type Signal struct {
	Check      string  `json:"check"`      // the check that made it, e.g. "auth"
	Symbol     string  `json:"symbol"`     // stable symbol name, e.g. "SPF_FAIL"
	Value      float64 `json:"value"`      // direction and strength, in [-1, 1]
	Confidence float64 `json:"confidence"` // evidence behind it, in [0, 1]
	Reason     string  `json:"reason"`     // a sentence a person can read
	Keys       []Key   `json:"keys,omitempty"`
}

// Key names something feedback can learn on: an IP prefix, a domain, a
// nameserver. Learners read the keys of a message's signals to decide what a
// "spam" or "not spam" report applies to.
type Key struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Key kinds used across the project. Checks may define more.
const (
	KeyIP         = "ip"          // a client address
	KeyPrefix     = "prefix"      // an address prefix, e.g. "192.0.2.0/24"
	KeyDomain     = "domain"      // a domain seen in the message
	KeyAuthDomain = "auth-domain" // a domain that authenticated (DKIM d=, SPF-pass MAIL FROM)
	KeyOrgDomain  = "org-domain"  // an organizational domain
	KeyURLDomain  = "url-domain"  // the registered domain of a URL in the message
	KeyNameserver = "ns"          // a nameserver host name
)

// String formats the key as kind:value.
func (k Key) String() string { return k.Kind + ":" + k.Value }

// Symbol describes a symbol a check can emit: its default weight and how
// it relates to the check's other symbols. A check publishes its symbols by
// implementing SymbolProvider; a Scorer's own weights override the default.
type Symbol struct {
	Name string `json:"name"`
	// Check is the check that emits it; the Engine fills it in.
	Check string `json:"check,omitempty"`
	// Weight is the default number of points at Value 1 and Confidence 1.
	Weight float64 `json:"weight"`
	// Signed means the symbol's Value spans [-1, 1]; otherwise [0, 1].
	Signed bool `json:"signed,omitempty"`
	// Group names a set of mutually exclusive symbols of the same check
	// (SPF_PASS and SPF_FAIL, say); "" puts the symbol in a group of its own.
	Group       string `json:"group,omitempty"`
	Description string `json:"description,omitempty"`
}

// minContribution is the most negative contribution the symbol can make.
func (s Symbol) minContribution(weight float64) float64 {
	if s.Signed {
		if weight < 0 {
			return weight
		}
		return -weight
	}
	if weight < 0 {
		return weight
	}
	return 0
}

// Check is one source of evidence: authentication, reputation, content, URLs.
//
// Check examines msg and returns its signals. prior holds the signals of
// the checks named by After (see Dependent), and is nil otherwise. A check
// that cannot finish (DNS failure, timeout) returns what it has together with
// an error; the Engine records it as incomplete and never treats the missing
// part as evidence. Checks must be safe for concurrent use.
type Check interface {
	Name() string
	Check(ctx context.Context, msg *Message, prior []Signal) ([]Signal, error)
}

// Dependent is implemented by a check that needs another's findings:
// reputation, for example, needs the domains that authenticated. The Engine
// runs it after the named checks finish (or fail) and passes their signals.
type Dependent interface {
	After() []string
}

// SymbolProvider is implemented by a check that publishes its symbols and
// their default weights.
type SymbolProvider interface {
	Symbols() []Symbol
}

// Label is what a message really is, as a person or a trap reports it.
type Label int

// Labels. The zero Label is unknown and is refused by Learn.
const (
	LabelUnknown Label = iota
	Ham
	Spam
)

func (l Label) String() string {
	switch l {
	case Ham:
		return "ham"
	case Spam:
		return "spam"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (l Label) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Label) UnmarshalText(b []byte) error {
	v, err := ParseLabel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLabel accepts "spam" and "ham" (also "not-spam" and "nonspam"), in any case.
func ParseLabel(s string) (Label, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "spam":
		return Spam, nil
	case "ham", "not-spam", "notspam", "nonspam":
		return Ham, nil
	}
	return LabelUnknown, fmt.Errorf("mailscore: unknown label %q (want spam or ham)", s)
}

// Source says where feedback came from. Learners weigh sources differently:
// a person's report counts fully, the engine's own verdict only a little, so
// a filter cannot feed on its own mistakes.
type Source int

// Feedback sources. The zero Source is a user report.
const (
	SourceUser    Source = iota // a person clicked "spam" or "not spam"
	SourceTrap                  // a spam trap received it
	SourceVerdict               // the engine's own confident verdict
)

func (s Source) String() string {
	switch s {
	case SourceUser:
		return "user"
	case SourceTrap:
		return "trap"
	case SourceVerdict:
		return "verdict"
	}
	return fmt.Sprintf("source(%d)", int(s))
}

// Feedback is a label for one message, with the signals the message produced
// (their keys say what to learn on) and where the label came from.
type Feedback struct {
	Label   Label
	Source  Source
	Signals []Signal
}

// Learner is implemented by a check that learns from feedback.
type Learner interface {
	Learn(ctx context.Context, msg *Message, fb Feedback) error
}
