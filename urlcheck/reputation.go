package urlcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
)

// ReputationOptions configure what the Checker learns from feedback about
// nameservers and URL domains. The zero value uses the defaults.
//
// The estimator, for one name with s spam and h ham reports (weighted by
// source and decayed by age) in a table whose totals are S and H:
//
//   - the base rate is p0 = (S + 10) / (S + H + 20): the share of spam in
//     the feedback, pulled toward one half until there is enough of it;
//   - the name's spam rate is the mean of a Beta posterior whose prior is
//     centred on the base rate with a weight of 2 reports:
//     p = (s + 2 p0) / (s + h + 2);
//   - Value is how far p sits from the base rate, scaled to [-1, 1]:
//     (p - p0) / (1 - p0) above it, (p - p0) / p0 below it. A nameserver
//     that serves spam and ham in the same proportion as the feedback as a
//     whole (a big DNS host) comes out near 0, however much evidence;
//   - Confidence is n / (n + 5) with n = s + h, and 0 while n is below
//     MinEvidence: a name with little evidence is unknown, not bad.
type ReputationOptions struct {
	// MinEvidence is the weighted number of reports below which a name is
	// unknown (confidence 0); default 3.
	MinEvidence float64
	// HalfLife is how long evidence takes to lose half its weight; default
	// 90 days; negative means evidence never fades.
	HalfLife time.Duration
	// MaxEntries bounds each table (nameserver hosts, nameserver domains,
	// URL domains); default 200,000. When full, an old entry is evicted.
	MaxEntries int
	// UserWeight, TrapWeight and VerdictWeight are what one report counts
	// for by source (mailscore.SourceUser, SourceTrap, SourceVerdict);
	// defaults 1, 1 and 0.1, so the engine's own verdicts cannot teach it
	// much on their own.
	UserWeight, TrapWeight, VerdictWeight float64
}

// Estimator constants (see ReputationOptions).
const (
	basePrior       = 10.0 // pseudo-reports of each label behind the base rate
	priorStrength   = 2.0  // weight of the base-rate prior behind a name's rate
	confidenceScale = 5.0  // n / (n + confidenceScale)
)

func (o ReputationOptions) resolved() ReputationOptions {
	if o.MinEvidence <= 0 {
		o.MinEvidence = 3
	}
	if o.HalfLife == 0 {
		o.HalfLife = 90 * 24 * time.Hour
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 200_000
	}
	if o.UserWeight <= 0 {
		o.UserWeight = 1
	}
	if o.TrapWeight <= 0 {
		o.TrapWeight = 1
	}
	if o.VerdictWeight <= 0 {
		o.VerdictWeight = 0.1
	}
	return o
}

func (o ReputationOptions) weight(s mailscore.Source) float64 {
	switch s {
	case mailscore.SourceTrap:
		return o.TrapWeight
	case mailscore.SourceVerdict:
		return o.VerdictWeight
	}
	return o.UserWeight
}

// Reputation tables.
const (
	tableNS       = iota // nameserver host names
	tableNSDomain        // registered domains of nameserver host names
	tableURL             // registered domains of URLs
	numTables
)

var tableNames = [numTables]string{"ns", "ns-domain", "url-domain"}

// tally is the decayed evidence about one name.
type tally struct {
	Spam, Ham float64
	At        int64 // Unix seconds the counts were last decayed to
}

type table struct {
	m     map[string]*tally
	total tally
}

// reputation is the learned state. Safe for concurrent use.
type reputation struct {
	opts ReputationOptions
	now  func() time.Time

	mu     sync.Mutex
	tables [numTables]table
}

func newReputation(opts ReputationOptions, now func() time.Time) *reputation {
	r := &reputation{opts: opts.resolved(), now: now}
	for i := range r.tables {
		r.tables[i].m = map[string]*tally{}
	}
	return r
}

// decay brings t forward to now.
func (r *reputation) decay(t *tally, now int64) {
	if r.opts.HalfLife < 0 || t.At >= now {
		if t.At < now {
			t.At = now
		}
		return
	}
	if t.At > 0 {
		f := math.Exp2(-float64(now-t.At) / r.opts.HalfLife.Seconds())
		t.Spam *= f
		t.Ham *= f
	}
	t.At = now
}

// learn adds one message's label to the names of one table.
func (r *reputation) learn(tab int, names []string, label mailscore.Label, w float64) {
	if len(names) == 0 || w <= 0 {
		return
	}
	now := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &r.tables[tab]
	add := func(x *tally) {
		r.decay(x, now)
		if label == mailscore.Spam {
			x.Spam += w
		} else {
			x.Ham += w
		}
	}
	add(&t.total)
	for _, n := range names {
		x, ok := t.m[n]
		if !ok {
			if len(t.m) >= r.opts.MaxEntries {
				r.evict(t)
			}
			x = &tally{}
			t.m[n] = x
		}
		add(x)
	}
}

// evict removes the stalest of a few entries (Go's map iteration order is
// random, so this samples).
func (r *reputation) evict(t *table) {
	var victim string
	oldest := int64(math.MaxInt64)
	n := 0
	for k, v := range t.m {
		if v.At < oldest {
			victim, oldest = k, v.At
		}
		if n++; n >= 32 {
			break
		}
	}
	delete(t.m, victim)
}

// Estimate is what the learned reputation says about one name.
type Estimate struct {
	Name string
	// Spam and Ham are the weighted, decayed reports.
	Spam, Ham float64
	// Rate is the estimated spam rate; BaseRate the rate of the feedback
	// as a whole (see ReputationOptions).
	Rate, BaseRate float64
	// Value is in [-1, 1], positive toward spam; Confidence in [0, 1].
	Value, Confidence float64
}

// Evidence is the weighted number of reports.
func (e Estimate) Evidence() float64 { return e.Spam + e.Ham }

func (r *reputation) estimate(tab int, name string) Estimate {
	now := r.now().Unix()
	r.mu.Lock()
	t := &r.tables[tab]
	total := t.total
	x, ok := t.m[name]
	var cur tally
	if ok {
		cur = *x
	}
	r.mu.Unlock()
	r.decay(&total, now)
	if ok {
		r.decay(&cur, now)
	}
	return r.compute(name, cur, total)
}

func (r *reputation) compute(name string, x, total tally) Estimate {
	e := Estimate{Name: name, Spam: x.Spam, Ham: x.Ham}
	e.BaseRate = (total.Spam + basePrior) / (total.Spam + total.Ham + 2*basePrior)
	n := x.Spam + x.Ham
	e.Rate = (x.Spam + priorStrength*e.BaseRate) / (n + priorStrength)
	if e.Rate >= e.BaseRate {
		e.Value = (e.Rate - e.BaseRate) / (1 - e.BaseRate)
	} else {
		e.Value = (e.Rate - e.BaseRate) / e.BaseRate
	}
	if n >= r.opts.MinEvidence {
		e.Confidence = n / (n + confidenceScale)
	}
	return e
}

// ---- persistence ----

// stateVersion is the version of the saved state's format.
const stateVersion = 1

type savedEntry struct {
	Name string  `json:"n"`
	Spam float64 `json:"s"`
	Ham  float64 `json:"h"`
	At   int64   `json:"t"`
}

type savedTable struct {
	Total   savedEntry   `json:"total"`
	Entries []savedEntry `json:"entries"`
}

type savedState struct {
	Version int                   `json:"version"`
	Tables  map[string]savedTable `json:"tables"`
}

// ErrState matches errors loading saved state that is not valid.
var ErrState = errors.New("urlcheck: invalid saved reputation state")

// maxStateBytes bounds what Load reads.
const maxStateBytes = 1 << 30

func (r *reputation) save(w io.Writer) error {
	st := savedState{Version: stateVersion, Tables: map[string]savedTable{}}
	r.mu.Lock()
	for i := range r.tables {
		t := &r.tables[i]
		st2 := savedTable{
			Total:   savedEntry{Spam: t.total.Spam, Ham: t.total.Ham, At: t.total.At},
			Entries: make([]savedEntry, 0, len(t.m)),
		}
		for k, v := range t.m {
			st2.Entries = append(st2.Entries, savedEntry{k, v.Spam, v.Ham, v.At})
		}
		st.Tables[tableNames[i]] = st2
	}
	r.mu.Unlock()
	return json.NewEncoder(w).Encode(st)
}

func validCount(f float64) bool { return !math.IsNaN(f) && f >= 0 && f <= 1e12 }

func (r *reputation) load(rd io.Reader) error {
	dec := json.NewDecoder(io.LimitReader(rd, maxStateBytes))
	var st savedState
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, st.Version, stateVersion)
	}
	var tables [numTables]table
	for i := range tables {
		tables[i].m = map[string]*tally{}
	}
	for name, t := range st.Tables {
		idx := -1
		for i, n := range tableNames {
			if n == name {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("%w: unknown table %q", ErrState, name)
		}
		if len(t.Entries) > r.opts.MaxEntries {
			return fmt.Errorf("%w: table %s has %d entries, limit %d", ErrState, name, len(t.Entries), r.opts.MaxEntries)
		}
		if !validCount(t.Total.Spam) || !validCount(t.Total.Ham) || t.Total.At < 0 {
			return fmt.Errorf("%w: table %s: bad totals", ErrState, name)
		}
		tables[idx].total = tally{t.Total.Spam, t.Total.Ham, t.Total.At}
		for _, e := range t.Entries {
			if !validASCIIHost(e.Name) || !validCount(e.Spam) || !validCount(e.Ham) || e.At < 0 {
				return fmt.Errorf("%w: table %s: bad entry %q", ErrState, name, e.Name)
			}
			if _, dup := tables[idx].m[e.Name]; dup {
				return fmt.Errorf("%w: table %s: %q twice", ErrState, name, e.Name)
			}
			tables[idx].m[e.Name] = &tally{e.Spam, e.Ham, e.At}
		}
	}
	r.mu.Lock()
	r.tables = tables
	r.mu.Unlock()
	return nil
}
