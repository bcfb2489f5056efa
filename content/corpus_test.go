package content

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/testdata"
	"github.com/stretchr/testify/require"
)

type corpusMsg struct {
	name  string
	label mailscore.Label
	msg   *mailscore.Message
	size  int
}

// stripMboxFrom removes the mbox "From " line the corpus files start with.
func stripMboxFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

func readDir(t testing.TB, dir string, label mailscore.Label) []corpusMsg {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	slices.Sort(files)
	var out []corpusMsg
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		raw = stripMboxFrom(raw)
		m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
		require.NoError(t, err, f)
		out = append(out, corpusMsg{name: filepath.Base(f), label: label, msg: m, size: len(raw)})
	}
	return out
}

// loadCorpus reads the SpamAssassin public corpus (easy_ham and spam).
func loadCorpus(t testing.TB) []corpusMsg {
	dir := testdata.Dir(t, "corpus", "spamassassin")
	ham := readDir(t, filepath.Join(dir, "easy_ham"), mailscore.Ham)
	spam := readDir(t, filepath.Join(dir, "spam"), mailscore.Spam)
	return append(ham, spam...)
}

// crossValidate trains a fresh Checker on all folds but one, observes the
// held-out fold through an Engine running only that checker, and pools the
// observations of every fold. Folds are assigned by position in each
// class's sorted file list (stratified and deterministic).
func crossValidate(t testing.TB, corpus []corpusMsg, folds int) (mailscore.Scorer, []mailscore.Labeled) {
	fold := make([]int, len(corpus))
	perClass := map[mailscore.Label]int{}
	for i, m := range corpus {
		fold[i] = perClass[m.label] % folds
		perClass[m.label]++
	}
	results := make([][]mailscore.Labeled, folds)
	var scorer mailscore.Scorer
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for k := 0; k < folds; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx := context.Background()
			c, err := New(Options{})
			require.NoError(t, err)
			for i, m := range corpus {
				if fold[i] != k {
					require.NoError(t, c.Learn(ctx, m.msg, mailscore.Feedback{Label: m.label, Signals: []mailscore.Signal{}}))
				}
			}
			engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
			require.NoError(t, err)
			var out []mailscore.Labeled
			for i, m := range corpus {
				if fold[i] == k {
					out = append(out, mailscore.Labeled{Name: m.name, Label: m.label, Obs: engine.Observe(ctx, m.msg)})
				}
			}
			mu.Lock()
			results[k] = out
			scorer = engine.Scorer()
			mu.Unlock()
		}()
	}
	wg.Wait()
	var all []mailscore.Labeled
	for _, r := range results {
		all = append(all, r...)
	}
	return scorer, all
}

// TestCorpusCrossValidation measures the checker on the SpamAssassin public
// corpus: 5-fold cross-validation, ROC AUC >= 0.99 and spam recall >= 90%
// at <= 0.5% false positives. It runs on the whole corpus, race detector
// included (about 3 s under -race on two cores).
func TestCorpusCrossValidation(t *testing.T) {
	corpus := loadCorpus(t)
	scorer, data := crossValidate(t, corpus, 5)
	r := mailscore.Evaluate(scorer, data)
	t.Logf("5-fold cross-validation on %d ham and %d spam:\n%s", r.Ham, r.Spam, r)
	for _, d := range data {
		if testing.Verbose() && d.Label == mailscore.Ham {
			v := scorer.Score(d.Obs)
			if v.Score > 2 {
				t.Logf("ham %s scored %.2f: %s", d.Name, v.Score, v.Explain())
			}
		}
		if testing.Verbose() && d.Label == mailscore.Spam {
			v := scorer.Score(d.Obs)
			if v.Score < 0 {
				t.Logf("spam %s scored %.2f: %s", d.Name, v.Score, v.Explain())
			}
		}
	}
	require.GreaterOrEqual(t, float64(r.AUC), 0.99, "ROC AUC")
	var at05 mailscore.RecallPoint
	for _, p := range r.Recall {
		if p.FPR == 0.005 {
			at05 = p
		}
	}
	require.LessOrEqual(t, float64(at05.Actual), 0.005)
	require.GreaterOrEqual(t, float64(at05.Recall), 0.90, "spam recall at 0.5%% false positives")
}
