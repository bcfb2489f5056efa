package mailscore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// funcCheck is a check made of a function, for tests.
type funcCheck struct {
	name    string
	after   []string
	symbols []Symbol
	fn      func(ctx context.Context, msg *Message, prior []Signal) ([]Signal, error)
	learned []Feedback
	mu      sync.Mutex
}

func (c *funcCheck) Name() string      { return c.name }
func (c *funcCheck) After() []string   { return c.after }
func (c *funcCheck) Symbols() []Symbol { return c.symbols }
func (c *funcCheck) Check(ctx context.Context, msg *Message, prior []Signal) ([]Signal, error) {
	return c.fn(ctx, msg, prior)
}

type learningCheck struct{ *funcCheck }

func (c learningCheck) Learn(_ context.Context, _ *Message, fb Feedback) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.learned = append(c.learned, fb)
	return nil
}

func constCheck(name string, sigs ...Signal) *funcCheck {
	return &funcCheck{name: name, fn: func(context.Context, *Message, []Signal) ([]Signal, error) { return sigs, nil }}
}

func testMessage(t testing.TB) *Message {
	m, err := NewMessage(Envelope{}, []byte("Subject: test\r\n\r\nhello\r\n"), Limits{})
	require.NoError(t, err)
	return m
}

func TestEngineRunsChecksInParallel(t *testing.T) {
	const n = 5
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var checks []Check
	for i := range n {
		checks = append(checks, &funcCheck{name: string(rune('a' + i)), fn: func(ctx context.Context, _ *Message, _ []Signal) ([]Signal, error) {
			arrived.Done()
			// Every check waits for all the others to have started: this
			// only finishes if they really run at the same time.
			select {
			case <-all:
				return []Signal{{Symbol: "MET", Value: 1, Confidence: 1}}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}})
	}
	e, err := NewEngine(EngineOptions{Timeout: 30 * time.Second}, checks...)
	require.NoError(t, err)
	obs := e.Observe(context.Background(), testMessage(t))
	require.Empty(t, obs.Incomplete)
	require.Len(t, obs.Signals, n)
	for i, s := range obs.Signals {
		require.Equal(t, string(rune('a'+i)), s.Check, "signals keep the checks' order")
	}
}

func TestEngineDeadline(t *testing.T) {
	const deadline = 100 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	slow := &funcCheck{name: "slow", fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		<-release // ignores its context on purpose
		return []Signal{{Symbol: "LATE", Value: 1, Confidence: 1}}, nil
	}}
	fast := constCheck("fast", Signal{Symbol: "FAST", Value: 1, Confidence: 1})
	after := &funcCheck{name: "after", after: []string{"slow"}, fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		return nil, nil
	}}
	e, err := NewEngine(EngineOptions{Timeout: deadline}, slow, fast, after)
	require.NoError(t, err)
	msg := testMessage(t)
	best := time.Hour
	for range 5 {
		start := time.Now()
		v := e.Score(context.Background(), msg)
		el := time.Since(start)
		best = min(best, el)
		require.Less(t, el, deadline+2*time.Second, "Score must return at the deadline")
		require.Len(t, v.Incomplete, 2)
		require.Equal(t, "slow", v.Incomplete[0].Check)
		require.ErrorIs(t, v.Incomplete[0].Err, ErrDeadline)
		require.Equal(t, "after", v.Incomplete[1].Check)
		require.Contains(t, v.Incomplete[1].Reason, "did not start")
		require.Len(t, v.Factors, 1)
		require.Equal(t, "FAST", v.Factors[0].Symbol)
	}
	// The best of five runs, so a loaded machine does not make this flake.
	require.Less(t, best, deadline+20*time.Millisecond)
}

func TestEngineCallerCancel(t *testing.T) {
	block := &funcCheck{name: "block", fn: func(ctx context.Context, _ *Message, _ []Signal) ([]Signal, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	e, err := NewEngine(EngineOptions{}, block)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	obs := e.Observe(ctx, testMessage(t))
	require.Len(t, obs.Incomplete, 1)
	require.True(t, errors.Is(obs.Incomplete[0].Err, context.Canceled))
}

func TestEnginePanicRecovery(t *testing.T) {
	boom := &funcCheck{name: "boom", fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		panic(errors.New("check bug"))
	}}
	ok := constCheck("ok", Signal{Symbol: "OK", Value: 1, Confidence: 1})
	e, err := NewEngine(EngineOptions{}, boom, ok)
	require.NoError(t, err)
	v := e.Score(context.Background(), testMessage(t))
	require.Len(t, v.Incomplete, 1)
	require.Equal(t, "boom", v.Incomplete[0].Check)
	require.Contains(t, v.Incomplete[0].Reason, "panicked: check bug")
	require.Len(t, v.Factors, 1)
}

func TestEngineDependencies(t *testing.T) {
	var order []string
	var mu sync.Mutex
	record := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, name)
	}
	auth := &funcCheck{name: "auth", fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		time.Sleep(20 * time.Millisecond)
		record("auth")
		return []Signal{{Symbol: "DKIM_VALID", Value: 1, Confidence: 1, Keys: []Key{{KeyAuthDomain, "example.com"}}}}, nil
	}}
	content := constCheck("content", Signal{Symbol: "C", Value: 1, Confidence: 1})
	var got []Signal
	rep := &funcCheck{name: "reputation", after: []string{"auth"}, fn: func(_ context.Context, _ *Message, prior []Signal) ([]Signal, error) {
		record("reputation")
		got = prior
		return []Signal{{Symbol: "DOMAIN_REPUTATION", Confidence: 0}}, nil
	}}
	e, err := NewEngine(EngineOptions{}, rep, auth, content)
	require.NoError(t, err)
	obs := e.Observe(context.Background(), testMessage(t))
	require.Equal(t, []string{"auth", "reputation"}, order)
	require.Len(t, got, 1, "reputation receives the signals of the checks it runs after, and only those")
	require.Equal(t, "example.com", got[0].Keys[0].Value)
	require.Equal(t, "reputation", obs.Signals[0].Check, "signals follow the order the checks were given")
	require.Empty(t, obs.Incomplete)
}

func TestNewEngineValidation(t *testing.T) {
	a := &funcCheck{name: "a", after: []string{"b"}}
	b := &funcCheck{name: "b", after: []string{"a"}}
	_, err := NewEngine(EngineOptions{}, a, b)
	require.ErrorIs(t, err, ErrCheckCycle)
	_, err = NewEngine(EngineOptions{}, &funcCheck{name: "x"}, &funcCheck{name: "x"})
	require.ErrorIs(t, err, ErrDuplicateCheck)
	// A dependency on a check that is not there is dropped: the check runs
	// with no prior signals.
	var prior []Signal
	ran := false
	lone := &funcCheck{name: "x", after: []string{"auth"}, fn: func(_ context.Context, _ *Message, p []Signal) ([]Signal, error) {
		prior, ran = p, true
		return nil, nil
	}}
	e, err := NewEngine(EngineOptions{}, lone)
	require.NoError(t, err)
	require.Empty(t, e.Observe(context.Background(), testMessage(t)).Incomplete)
	require.True(t, ran)
	require.Nil(t, prior)
	_, err = NewEngine(EngineOptions{}, nil)
	require.Error(t, err)
}

func TestEngineSymbolsReachScorer(t *testing.T) {
	c := constCheck("auth", Signal{Symbol: "SPF_FAIL", Value: 1, Confidence: 1})
	c.symbols = []Symbol{{Name: "SPF_FAIL", Weight: 7}}
	e, err := NewEngine(EngineOptions{}, c)
	require.NoError(t, err)
	v := e.Score(context.Background(), testMessage(t))
	require.InDelta(t, 7, v.Score, 1e-9)
	require.Equal(t, "auth", e.Symbols()["SPF_FAIL"].Check)
}

func TestEngineLearn(t *testing.T) {
	var observed atomic.Int32
	l := learningCheck{&funcCheck{name: "rep", fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		observed.Add(1)
		return []Signal{{Symbol: "IP", Keys: []Key{{KeyIP, "192.0.2.1"}}}}, nil
	}}}
	e, err := NewEngine(EngineOptions{}, l, constCheck("other"))
	require.NoError(t, err)
	msg := testMessage(t)
	require.NoError(t, e.Learn(context.Background(), msg, Spam))
	require.Len(t, l.learned, 1)
	require.Equal(t, Spam, l.learned[0].Label)
	require.Equal(t, SourceUser, l.learned[0].Source)
	require.Equal(t, "192.0.2.1", l.learned[0].Signals[0].Keys[0].Value)
	require.EqualValues(t, 1, observed.Load())

	// Signals already observed are not observed again.
	require.NoError(t, e.LearnFeedback(context.Background(), msg, Feedback{Label: Ham, Source: SourceVerdict, Signals: []Signal{}}))
	require.EqualValues(t, 1, observed.Load())
	require.Equal(t, SourceVerdict, l.learned[1].Source)

	require.Error(t, e.Learn(context.Background(), msg, LabelUnknown))
}

func TestEngineSelfLearn(t *testing.T) {
	score := 0.0
	complete := true
	l := learningCheck{&funcCheck{name: "rep", fn: func(context.Context, *Message, []Signal) ([]Signal, error) {
		var err error
		if !complete {
			err = errors.New("DNS timeout")
		}
		return []Signal{{Symbol: "S", Value: 1, Confidence: 1, Keys: []Key{{KeyIP, "192.0.2.1"}}}}, err
	}}}
	l.symbols = []Symbol{{Name: "S", Weight: 1}}
	scorer := scorerFunc(func(obs *Observation) Verdict {
		return Verdict{Score: score, Incomplete: obs.Incomplete}
	})
	e, err := NewEngine(EngineOptions{Scorer: scorer, SelfLearn: &SelfLearn{}}, l)
	require.NoError(t, err)
	msg := testMessage(t)
	tests := []struct {
		score    float64
		complete bool
		want     Label
	}{
		{20, true, Spam},
		{15, true, Spam},
		{14.9, true, LabelUnknown},
		{0, true, LabelUnknown}, // no evidence either way: nothing to learn
		{-3, true, Ham},
		{-10, true, Ham},
		{20, false, LabelUnknown}, // an incomplete verdict is never learned from
		{-10, false, LabelUnknown},
	}
	for _, tt := range tests {
		score, complete = tt.score, tt.complete
		before := len(l.learned)
		e.Score(context.Background(), msg)
		if tt.want == LabelUnknown {
			require.Len(t, l.learned, before, "score %v complete %v", tt.score, tt.complete)
			continue
		}
		require.Len(t, l.learned, before+1, "score %v", tt.score)
		fb := l.learned[before]
		require.Equal(t, tt.want, fb.Label)
		require.Equal(t, SourceVerdict, fb.Source)
		require.Equal(t, "192.0.2.1", fb.Signals[0].Keys[0].Value, "the verdict's own signals are passed on")
	}
}

type scorerFunc func(*Observation) Verdict

func (f scorerFunc) Score(obs *Observation) Verdict { return f(obs) }

type panicLearner struct{ *funcCheck }

func (panicLearner) Learn(context.Context, *Message, Feedback) error { panic("learner bug") }

func TestEngineLearnPanic(t *testing.T) {
	e, err := NewEngine(EngineOptions{}, panicLearner{constCheck("p")})
	require.NoError(t, err)
	err = e.Learn(context.Background(), testMessage(t), Ham)
	require.ErrorContains(t, err, "learner bug")
}

type trivialCheck struct {
	name string
	sig  []Signal
}

func (c *trivialCheck) Name() string { return c.name }
func (c *trivialCheck) Check(context.Context, *Message, []Signal) ([]Signal, error) {
	return c.sig, nil
}

// BenchmarkEngineScore measures the engine's own overhead: five trivial
// checks, scored by the default scorer.
func BenchmarkEngineScore(b *testing.B) {
	var checks []Check
	for i := range 5 {
		checks = append(checks, &trivialCheck{name: string(rune('a' + i)), sig: []Signal{{Symbol: "S" + string(rune('A'+i)), Value: 1, Confidence: 1}}})
	}
	e, err := NewEngine(EngineOptions{}, checks...)
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v := e.Score(ctx, msg)
		if len(v.Factors) != 5 {
			b.Fatal(v.Factors)
		}
	}
}
