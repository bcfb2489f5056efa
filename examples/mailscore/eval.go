package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
)

// labeledFile is a message file with its label.
type labeledFile struct {
	path  string
	label mailscore.Label
	msg   *mailscore.Message
}

// labeledDir is a folder whose messages all have one label.
type labeledDir struct {
	dir   string
	label mailscore.Label
}

// loadLabeled reads every message under the folders, at most limit from
// each (0: all). Files that are not messages are counted, not fatal.
func loadLabeled(dirs []labeledDir, limit int, env mailscore.Envelope, fromReceived bool) ([]labeledFile, int, error) {
	var out []labeledFile
	skipped := 0
	for _, side := range dirs {
		if side.dir == "" {
			continue
		}
		files, err := collectFiles([]string{side.dir})
		if err != nil {
			return nil, 0, err
		}
		if limit > 0 && len(files) > limit {
			files = files[:limit]
		}
		for _, f := range files {
			m, err := loadMessage(f, env, mailscore.Limits{}, fromReceived)
			if err != nil {
				skipped++
				continue
			}
			out = append(out, labeledFile{path: f, label: side.label, msg: m})
		}
	}
	return out, skipped, nil
}

// progress draws a progress bar on w.
type progress struct {
	w     io.Writer
	total int
	done  int
	last  time.Time
	start time.Time
	mu    sync.Mutex
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) add(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done != p.total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	n := width * p.done / max(p.total, 1)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < n:
			bar[i] = '='
		case i == n:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %d/%d %-8s %5.1fs", bar, p.done, p.total, what, time.Since(p.start).Seconds())
	if p.done == p.total {
		fmt.Fprintln(p.w)
	}
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	cfg.register(fs)
	hamDir := fs.String("ham", "", "folder of ham messages")
	spamDir := fs.String("spam", "", "folder of spam messages")
	folds := fs.Int("folds", 0, "k-fold cross-validation: train fresh learning checks on k-1 folds, score the k-th (0: score with the loaded -state only)")
	seed := fs.Uint64("seed", 1, "seed for the fold assignment")
	limit := fs.Int("limit", 0, "use at most this many messages of each class (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailscore eval [flags] -ham DIR -spam DIR\n\nRuns the engine over labelled folders and reports ROC AUC, the confusion\nmatrix at the thresholds, spam recall at fixed false-positive rates and\nper-symbol hit rates.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hamDir == "" || *spamDir == "" {
		fs.Usage()
		return fmt.Errorf("%w: -ham and -spam are required", errUsage)
	}
	if *folds == 1 || *folds < 0 {
		return fmt.Errorf("%w: -folds must be 0 or at least 2", errUsage)
	}
	env, err := cfg.envelope()
	if err != nil {
		return err
	}
	cfg.ReadOnly = true // scoring a corpus is not traffic: count no volume
	msgs, skipped, err := loadLabeled([]labeledDir{{*hamDir, mailscore.Ham}, {*spamDir, mailscore.Spam}}, *limit, env, cfg.received)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return errors.New("no messages found")
	}
	var labeled []mailscore.Labeled
	var scorer mailscore.Scorer
	if *folds == 0 {
		s, err := newSetup(&cfg, stderr)
		if err != nil {
			return err
		}
		scorer = s.Engine.Scorer()
		p := newProgress(stderr, len(msgs))
		labeled, err = observeAll(ctx, s.Engine, msgs, func() { p.add("scoring") })
		if err != nil {
			return err
		}
	} else {
		// Fresh learning state per fold; -state is not loaded.
		cfg.StatePath = ""
		fold := make([]int, len(msgs))
		rng := rand.New(rand.NewPCG(*seed, 0x6d61696c73636f72))
		perm := rng.Perm(len(msgs))
		for i, j := range perm {
			fold[j] = i % *folds
		}
		p := newProgress(stderr, *folds*len(msgs))
		for k := range *folds {
			s, err := newSetup(&cfg, stderr)
			if err != nil {
				return err
			}
			scorer = s.Engine.Scorer()
			var train, test []labeledFile
			for i, m := range msgs {
				if fold[i] == k {
					test = append(test, m)
				} else {
					train = append(train, m)
				}
			}
			for _, m := range train {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := s.Engine.Learn(ctx, m.msg, m.label); err != nil {
					return fmt.Errorf("learning %s: %w", m.path, err)
				}
				p.add(fmt.Sprintf("fold %d", k+1))
			}
			got, err := observeAll(ctx, s.Engine, test, func() { p.add(fmt.Sprintf("fold %d", k+1)) })
			if err != nil {
				return err
			}
			labeled = append(labeled, got...)
		}
	}
	r := mailscore.Evaluate(scorer, labeled)
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Folds   int              `json:"folds"`
			Skipped int              `json:"skipped_files"`
			Report  mailscore.Report `json:"report"`
		}{*folds, skipped, r})
	}
	if *folds > 0 {
		fmt.Fprintf(stdout, "%d-fold cross-validation (seed %d)\n", *folds, *seed)
	}
	if skipped > 0 {
		fmt.Fprintf(stdout, "%d files skipped: not readable as messages\n", skipped)
	}
	fmt.Fprint(stdout, r.String())
	return nil
}

// observeAll observes messages on all cores, keeping their order.
func observeAll(ctx context.Context, e *mailscore.Engine, msgs []labeledFile, tick func()) ([]mailscore.Labeled, error) {
	out := make([]mailscore.Labeled, len(msgs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				out[i] = mailscore.Labeled{Name: msgs[i].path, Label: msgs[i].label, Obs: e.Observe(ctx, msgs[i].msg)}
				tick()
			}
		})
	}
	for i := range msgs {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return out, ctx.Err()
}
