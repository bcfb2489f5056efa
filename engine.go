package mailscore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is the Engine's per-message deadline when none is set.
const DefaultTimeout = 10 * time.Second

// EngineOptions configure an Engine. The zero value uses the default
// WeightedScorer, a 10-second deadline and no logging.
type EngineOptions struct {
	// Scorer combines the signals; nil means &WeightedScorer{}.
	Scorer Scorer
	// Timeout bounds the checks of one message; 0 means DefaultTimeout.
	// A check still running at the deadline is recorded as incomplete.
	Timeout time.Duration
	// Logger receives panics and check failures; nil discards them.
	Logger *slog.Logger
	// SelfLearn, if not nil, feeds the engine's own confident verdicts back
	// to the checks that learn, as SourceVerdict feedback (which they weigh
	// far below a person's report, so the filter cannot feed on itself).
	SelfLearn *SelfLearn
}

// SelfLearn says which verdicts are confident enough to learn from. Only a
// verdict with every check complete is used.
type SelfLearn struct {
	// SpamAt: a score at or above it is learned as spam. 0 means the
	// default scorer's reject threshold, 15.
	SpamAt float64
	// HamAt: a score at or below it is learned as ham. 0 means -3, which
	// takes real good evidence (say DKIM and DMARC passing and a ham-ward
	// classifier), not merely the absence of bad evidence.
	HamAt float64
}

func (s *SelfLearn) label(v *Verdict) Label {
	spamAt, hamAt := s.SpamAt, s.HamAt
	if spamAt == 0 {
		spamAt = DefaultRejectThreshold
	}
	if hamAt == 0 {
		hamAt = -3
	}
	switch {
	case len(v.Incomplete) > 0:
		return LabelUnknown
	case v.Score >= spamAt:
		return Spam
	case v.Score <= hamAt:
		return Ham
	}
	return LabelUnknown
}

// Engine runs checks concurrently under one deadline and scores what they
// find. It is safe for concurrent use.
type Engine struct {
	checks  []Check
	deps    [][]int // deps[i]: indexes of the checks check i runs after
	users   [][]int // users[i]: indexes of the checks that run after check i
	scorer  Scorer
	timeout time.Duration
	log     *slog.Logger
	symbols map[string]Symbol
	self    *SelfLearn
}

// Errors from NewEngine.
var (
	ErrDuplicateCheck = errors.New("mailscore: two checks have the same name")
	ErrCheckCycle     = errors.New("mailscore: checks depend on each other in a cycle")
)

// NewEngine returns an engine running checks. It refuses duplicate names and
// dependency cycles. A check that runs after a check this engine does not
// have runs without that check's signals (a reputation check without an
// authentication check, say), and the Logger is told.
func NewEngine(opts EngineOptions, checks ...Check) (*Engine, error) {
	e := &Engine{
		checks:  checks,
		deps:    make([][]int, len(checks)),
		users:   make([][]int, len(checks)),
		scorer:  opts.Scorer,
		timeout: opts.Timeout,
		log:     opts.Logger,
		symbols: map[string]Symbol{},
		self:    opts.SelfLearn,
	}
	if e.scorer == nil {
		e.scorer = &WeightedScorer{}
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	index := map[string]int{}
	for i, c := range checks {
		if c == nil {
			return nil, fmt.Errorf("mailscore: check %d is nil", i)
		}
		if _, dup := index[c.Name()]; dup {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateCheck, c.Name())
		}
		index[c.Name()] = i
	}
	for i, c := range checks {
		if d, ok := c.(Dependent); ok {
			for _, name := range d.After() {
				j, ok := index[name]
				if !ok {
					// Signal packages are usable alone: a check that would
					// use another's findings runs without them when that
					// check is not in this engine.
					e.log.Warn("check runs after a check that is not registered; it runs without those signals", "check", c.Name(), "after", name)
					continue
				}
				e.deps[i] = append(e.deps[i], j)
				e.users[j] = append(e.users[j], i)
			}
		}
		if sp, ok := c.(SymbolProvider); ok {
			for _, s := range sp.Symbols() {
				s.Check = c.Name()
				e.symbols[s.Name] = s
			}
		}
	}
	if err := e.checkCycles(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) checkCycles() error {
	// Kahn's algorithm: if not every check can be ordered, there is a cycle.
	in := make([]int, len(e.checks))
	var ready []int
	for i := range e.checks {
		in[i] = len(e.deps[i])
		if in[i] == 0 {
			ready = append(ready, i)
		}
	}
	done := 0
	for len(ready) > 0 {
		i := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		done++
		for _, u := range e.users[i] {
			if in[u]--; in[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if done != len(e.checks) {
		var names []string
		for i, n := range in {
			if n > 0 {
				names = append(names, e.checks[i].Name())
			}
		}
		return fmt.Errorf("%w: %v", ErrCheckCycle, names)
	}
	return nil
}

// Symbols returns every symbol the checks publish, by name. Read-only.
func (e *Engine) Symbols() map[string]Symbol { return e.symbols }

// Checks returns the engine's checks in the order given.
func (e *Engine) Checks() []Check { return e.checks }

// Scorer returns the engine's scorer.
func (e *Engine) Scorer() Scorer { return e.scorer }

// errPanic marks a check that panicked.
var errPanic = errors.New("check panicked")

// ErrDeadline is the reason recorded for a check still running at the
// deadline.
var ErrDeadline = errors.New("mailscore: check did not finish before the deadline")

// checkState is what one Observe call knows about one check.
type checkState struct {
	signals  []Signal
	err      error
	waiting  int // dependencies not yet finished
	started  bool
	finished bool
}

// observation is the state of one Observe call, shared with the goroutines
// running its checks. The goroutine that finishes a check records it and
// starts the checks waiting on it; the last one wakes Observe. Once Observe
// has returned (closed), late results are dropped.
type observation struct {
	e       *Engine
	ctx     context.Context
	msg     *Message
	mu      sync.Mutex
	st      []checkState
	pending int
	closed  bool
	done    chan struct{}
}

// start runs check i in its own goroutine; o.mu must be held.
func (o *observation) start(i int) {
	o.st[i].started = true
	var prior []Signal
	for _, d := range o.e.deps[i] {
		prior = append(prior, o.st[d].signals...)
	}
	go o.run(i, prior)
}

func (o *observation) run(i int, prior []Signal) {
	sigs, err := o.e.call(o.ctx, i, o.msg, prior)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	st := &o.st[i]
	st.signals, st.err, st.finished = sigs, err, true
	o.pending--
	if o.ctx.Err() == nil { // after the deadline, start nothing new
		for _, u := range o.e.users[i] {
			if o.st[u].waiting--; o.st[u].waiting == 0 {
				o.start(u)
			}
		}
	}
	if o.pending == 0 {
		close(o.done)
	}
}

// call runs check i, turning a panic into an error.
func (e *Engine) call(ctx context.Context, i int, msg *Message, prior []Signal) (sigs []Signal, err error) {
	c := e.checks[i]
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("check panicked", "check", c.Name(), "panic", r, "stack", string(debug.Stack()))
			sigs, err = nil, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return c.Check(ctx, msg, prior)
}

// Observe runs every check on msg and returns what they found, without
// scoring it. Checks start as soon as the checks they run after have
// finished; all share one deadline. A check that fails, panics or is still
// running at the deadline is listed in Incomplete, and Observe returns at
// the deadline without waiting for it.
func (e *Engine) Observe(ctx context.Context, msg *Message) *Observation {
	n := len(e.checks)
	obs := &Observation{Symbols: e.symbols}
	if n == 0 {
		return obs
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()

	o := &observation{e: e, ctx: ctx, msg: msg, st: make([]checkState, n), pending: n, done: make(chan struct{})}
	o.mu.Lock()
	for i := range o.st {
		o.st[i].waiting = len(e.deps[i])
		if o.st[i].waiting == 0 {
			o.start(i)
		}
	}
	o.mu.Unlock()
	select {
	case <-o.done:
	case <-ctx.Done():
	}
	o.mu.Lock()
	o.closed = true // from here on, no goroutine writes o.st
	o.mu.Unlock()

	st := o.st
	total := 0
	for i := range st {
		total += len(st[i].signals)
	}
	obs.Signals = make([]Signal, 0, total)
	for i := range st {
		name := e.checks[i].Name()
		for _, s := range st[i].signals {
			if s.Check == "" {
				s.Check = name
			}
			obs.Signals = append(obs.Signals, s)
		}
		switch {
		case !st[i].finished:
			err := ErrDeadline
			if ctx.Err() == context.Canceled {
				err = context.Canceled
			}
			reason := "did not finish before the deadline"
			if !st[i].started {
				reason = "did not start: the checks it runs after did not finish in time"
			}
			obs.Incomplete = append(obs.Incomplete, Incomplete{Check: name, Reason: reason, Err: err})
		case st[i].err != nil:
			e.log.Warn("check incomplete", "check", name, "err", st[i].err)
			obs.Incomplete = append(obs.Incomplete, Incomplete{Check: name, Reason: oneLine(st[i].err.Error()), Err: st[i].err})
		}
	}
	return obs
}

// Score runs the checks on msg and scores what they found.
//
// With EngineOptions.SelfLearn set, a confident verdict is then handed to
// the learning checks as SourceVerdict feedback; their errors are logged,
// not returned.
func (e *Engine) Score(ctx context.Context, msg *Message) Verdict {
	obs := e.Observe(ctx, msg)
	v := e.scorer.Score(obs)
	if e.self != nil {
		if l := e.self.label(&v); l != LabelUnknown {
			if err := e.LearnFeedback(ctx, msg, Feedback{Label: l, Source: SourceVerdict, Signals: obs.Signals}); err != nil {
				e.log.Warn("learning from the verdict failed", "err", err)
			}
		}
	}
	return v
}

// Learn reports that msg is spam or ham, as a person said. It observes the
// message first, then hands the label and the signals to every check that is
// a Learner; the signals' keys tell each what to learn on.
func (e *Engine) Learn(ctx context.Context, msg *Message, label Label) error {
	return e.LearnFeedback(ctx, msg, Feedback{Label: label, Source: SourceUser})
}

// LearnFeedback is Learn with the feedback's source and, if fb.Signals is
// not nil, signals already observed (so the message is not checked again).
func (e *Engine) LearnFeedback(ctx context.Context, msg *Message, fb Feedback) error {
	if fb.Label != Spam && fb.Label != Ham {
		return fmt.Errorf("mailscore: learn: label must be spam or ham, got %v", fb.Label)
	}
	if fb.Signals == nil {
		fb.Signals = e.Observe(ctx, msg).Signals
	}
	var errs []error
	for _, c := range e.checks {
		l, ok := c.(Learner)
		if !ok {
			continue
		}
		if err := e.learn(ctx, l, msg, fb); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// learn calls one learner, turning a panic into an error.
func (e *Engine) learn(ctx context.Context, l Learner, msg *Message, fb Feedback) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("learner panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return l.Learn(ctx, msg, fb)
}

// oneLine joins the lines of a multi-line error message (errors.Join
// writes one error a line) so a reason stays one line in headers and logs.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	return strings.Join(f, "; ")
}
