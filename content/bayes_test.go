package content

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/stretchr/testify/require"
)

func TestRobinsonF(t *testing.T) {
	const u = UnitsPerReport
	tests := []struct {
		name                   string
		ham, spam, nham, nspam uint32
		want                   float64
	}{
		{"unseen is x", 0, 0, 100 * u, 100 * u, 0.5},
		// One spam message: p = 1, n = 1: (0.45*0.5 + 1) / 1.45.
		{"seen once in spam", 0, u, 100 * u, 100 * u, (0.45*0.5 + 1) / 1.45},
		{"seen once in ham", u, 0, 100 * u, 100 * u, 0.225 / 1.45},
		// Equal rates are neutral whatever the class sizes.
		{"equal rates", 10 * u, 2 * u, 500 * u, 100 * u, 0.5},
		// A quarter report weighs a quarter: n = 0.25.
		{"one verdict report", 0, 1, 100 * u, 100 * u, (0.45*0.5 + 0.25) / 0.7},
		// Many sightings approach p.
		{"strong spam", 1 * u, 99 * u, 1000 * u, 1000 * u, (0.225 + 100*0.99) / 100.45},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, robinsonF(tt.ham, tt.spam, tt.nham, tt.nspam), 1e-12, tt.name)
	}
}

func TestChi2Q(t *testing.T) {
	require.InDelta(t, math.Exp(-1), chi2Q(2, 2), 1e-12)
	require.InDelta(t, 1.0, chi2Q(0, 10), 1e-12)
	// v=4: e^{-m}(1+m), m=x2/2.
	require.InDelta(t, math.Exp(-3)*4, chi2Q(6, 4), 1e-12)
	require.InDelta(t, 0.0, chi2Q(5000, 2), 1e-12)
}

func TestCombine(t *testing.T) {
	mk := func(fs ...float64) []clue {
		var cs []clue
		for _, f := range fs {
			cs = append(cs, clue{f: f})
		}
		return cs
	}
	require.Equal(t, 0.5, combine(nil))
	require.InDelta(t, 0.5, combine(mk(0.99, 0.01)), 1e-9, "balanced evidence is undecided")
	require.Greater(t, combine(mk(0.99, 0.98, 0.95, 0.9)), 0.99)
	require.Less(t, combine(mk(0.01, 0.02, 0.05, 0.1)), 0.01)
	// Symmetry: swapping f and 1-f mirrors the result.
	a := combine(mk(0.9, 0.7, 0.2))
	b := combine(mk(0.1, 0.3, 0.8))
	require.InDelta(t, 1, a+b, 1e-9)
	// Hundreds of extreme clues do not underflow to NaN.
	many := make([]float64, 150)
	for i := range many {
		many[i] = 0.999999
	}
	require.InDelta(t, 1, combine(mk(many...)), 1e-9)
}

func learnText(t testing.TB, c *Checker, label mailscore.Label, src mailscore.Source, subject, body string) {
	t.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte("Subject: "+subject+"\r\n\r\n"+body+"\r\n"), mailscore.Limits{})
	require.NoError(t, err)
	require.NoError(t, c.Learn(context.Background(), m, mailscore.Feedback{Label: label, Source: src}))
}

func TestClassifierConfidence(t *testing.T) {
	c := newTestChecker(t)
	probe := mail("", "cheap pills for you\r\n")

	s := checkRaw(t, c, probe)[SymBayes]
	require.Zero(t, s.Confidence)
	require.Zero(t, s.Value)
	require.Contains(t, s.Reason, "learned from 0 ham and 0 spam; it needs both, 200 of each")

	for i := 0; i < 12; i++ {
		learnText(t, c, mailscore.Ham, mailscore.SourceUser, "minutes", fmt.Sprintf("meeting minutes for project %d attached", i))
	}
	s = checkRaw(t, c, probe)[SymBayes]
	require.Zero(t, s.Confidence, "no spam learned: no opinion")
	require.Contains(t, s.Reason, "learned from 12 ham and 0 spam")

	for i := 0; i < 3; i++ {
		learnText(t, c, mailscore.Spam, mailscore.SourceUser, "cheap pills", fmt.Sprintf("cheap pills for you, offer %d", i))
	}
	s = checkRaw(t, c, probe)[SymBayes]
	require.InDelta(t, 3.0/200, s.Confidence, 1e-9)
	require.Positive(t, s.Value)
	require.Contains(t, s.Reason, "learned from 12 ham and 3 spam; it needs 200 of each for full confidence")
	require.Contains(t, s.Reason, `"pills"`)
	require.Contains(t, s.Reason, "Strongest spam-ward")

	// A verdict counts a quarter of a report.
	for i := 0; i < 4; i++ {
		learnText(t, c, mailscore.Spam, mailscore.SourceVerdict, "cheap pills", "cheap pills again")
	}
	require.Equal(t, Counts{Ham: 12 * UnitsPerReport, Spam: 4 * UnitsPerReport}, c.Store().(*MemoryStore).Totals())
	s = checkRaw(t, c, probe)[SymBayes]
	require.Contains(t, s.Reason, "learned from 12 ham and 4 spam")

	require.Error(t, c.Learn(context.Background(), mustMessage(t, probe), mailscore.Feedback{}))
}

func mustMessage(t testing.TB, raw string) *mailscore.Message {
	t.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
	require.NoError(t, err)
	return m
}

// TestClassifierLearns trains on two clearly different vocabularies and
// checks that unseen messages of each kind go the right way, with full
// confidence, and that the reason names the strongest tokens both ways.
func TestClassifierLearns(t *testing.T) {
	c, err := New(Options{MinLearned: 50})
	require.NoError(t, err)
	hamWords := strings.Fields("kernel patch review build release merge branch commit test debian package")
	spamWords := strings.Fields("viagra casino lottery winner prize million credit mortgage refinance pharmacy")
	for i := 0; i < 60; i++ {
		learnText(t, c, mailscore.Ham, mailscore.SourceUser, "re: "+hamWords[i%len(hamWords)], strings.Join(rotate(hamWords, i), " "))
		learnText(t, c, mailscore.Spam, mailscore.SourceTrap, "win "+spamWords[i%len(spamWords)], strings.Join(rotate(spamWords, i), " "))
	}
	ham := checkRaw(t, c, mail("", "please review the kernel patch on my branch before the release\r\n"))[SymBayes]
	spam := checkRaw(t, c, mail("", "you are a lottery winner, claim the prize at our casino pharmacy\r\n"))[SymBayes]
	require.Equal(t, 1.0, ham.Confidence)
	require.Less(t, ham.Value, -0.9, ham.Reason)
	require.Greater(t, spam.Value, 0.9, spam.Reason)
	require.Contains(t, spam.Reason, `"lottery"`)
	require.Contains(t, ham.Reason, `"kernel"`)
	require.Contains(t, spam.Reason, "learned from 60 ham and 60 spam)")
}

func rotate(ws []string, n int) []string {
	n %= len(ws)
	return append(append([]string(nil), ws[n:]...), ws[:n]...)
}

// TestConcurrentLearnAndCheck runs Learn and Check in parallel (run with
// -race): the totals come out exact and nothing races.
func TestConcurrentLearnAndCheck(t *testing.T) {
	c := newTestChecker(t)
	msgs := []*mailscore.Message{
		mustMessage(t, mail("", "cheap pills now\r\n")),
		mustMessage(t, altMail("meeting notes", `<p>meeting <a href="https://example.com/">notes</a></p>`)),
		mustMessage(t, attachMail("a.zip", "application/zip", zipOf(t, map[string][]byte{"x.exe": []byte("MZ")}, false))),
	}
	const workers, rounds = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				label := mailscore.Ham
				if i%2 == 0 {
					label = mailscore.Spam
				}
				if err := c.Learn(context.Background(), msgs[i%len(msgs)], mailscore.Feedback{Label: label}); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				sigs, err := c.Check(context.Background(), msgs[i%len(msgs)], nil)
				if err != nil || len(sigs) == 0 {
					t.Error("check failed", err)
				}
			}
		}()
	}
	wg.Wait()
	tot := c.Store().(*MemoryStore).Totals()
	require.Equal(t, Counts{Ham: workers * rounds / 2 * UnitsPerReport, Spam: workers * rounds / 2 * UnitsPerReport}, tot)
}

func TestTokenizer(t *testing.T) {
	var tk tokenizer
	tk.text(nsBody, `Visit http://WWW.Example.co.uk/path?x=1 or www.other.example now!! "Quoted," `+
		`supercalifragilisticexpialidocious mail@Sender.example 你好世界 $19.99`)
	tk.text(nsSubject, "Hello World")
	var got []string
	for _, tok := range tk.toks {
		got = append(got, tk.tokenString(tok))
	}
	for _, want := range []string{
		"proto:http", "url:www.example.co.uk", "url:example.co.uk", "proto:www", "url:www.other.example",
		"url:other.example", "visit", "now!!", "quoted", "skip:s 30", "email name:mail", "email addr:sender.example",
		"你好", "好世", "世界", "$19.99", "subject:hello", "subject:world",
	} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, "or", "words under 3 characters are dropped")
	// Hashes are case-insensitive and namespaced.
	h := map[string]uint64{}
	for _, tok := range tk.toks {
		h[tk.tokenString(tok)] = tok.h
	}
	require.NotEqual(t, h["subject:hello"], h["visit"])
	var tk2 tokenizer
	tk2.text(nsBody, "VISIT")
	require.Equal(t, h["visit"], tk2.toks[0].h)
	require.Equal(t, fnvString(fnvOffset, "subject:hello"), h["subject:hello"])

	var set tokenSet
	dup := append(append([]token(nil), tk.toks...), tk.toks...)
	require.Len(t, set.dedupe(dup), len(set.dedupe(tk.toks)))
}

// TestTokenSetCollidingHashes dedupes hashes that agree in their low 32
// bits (what a fixed slot function would pile into one probe chain).
func TestTokenSetCollidingHashes(t *testing.T) {
	c := newTestChecker(t)
	a := c.pool.Get().(*analysis)
	toks := make([]token, 0, 2*maxTokensPerMessage)
	for i := 0; i < maxTokensPerMessage; i++ {
		toks = append(toks, token{h: uint64(i) << 32})
	}
	toks = append(toks, toks...)
	require.Len(t, a.set.dedupe(toks), maxTokensPerMessage)
	require.NotZero(t, a.set.seed, "the slot function is seeded")
}

// TestSelectClues checks the heap selection against a plain sort.
func TestSelectClues(t *testing.T) {
	n := 2000
	toks := make([]token, n)
	counts := make([]Counts, n)
	for i := range toks {
		toks[i] = token{h: mix64(uint64(i))}
		counts[i] = Counts{Ham: uint32(i % 37 * 4), Spam: uint32(i % 23 * 4)}
	}
	total := Counts{Ham: 400, Spam: 400}
	got := selectClues(toks, counts, total, nil)
	require.Len(t, got, maxDiscriminators)

	var all []clue
	for i, tk := range toks {
		f := robinsonF(counts[i].Ham, counts[i].Spam, total.Ham, total.Spam)
		if s := math.Abs(f - 0.5); s >= minProbStrength {
			all = append(all, clue{tok: tk, f: f, strength: s})
		}
	}
	slices.SortFunc(all, func(a, b clue) int {
		if stronger(a, b) {
			return -1
		}
		return 1
	})
	require.Equal(t, all[:maxDiscriminators], got)
	// Fewer candidates than the bound: all of them, in order.
	few := selectClues(toks[:40], counts[:40], total, nil)
	for i := 1; i < len(few); i++ {
		require.True(t, stronger(few[i-1], few[i]))
	}
}
