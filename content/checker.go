package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
)

// Name is the check's name.
const Name = "content"

// DefaultMinLearned is how many messages of each class the classifier must
// have learned before its signal carries full confidence.
const DefaultMinLearned = 200

// DefaultMaxDateSkew is how far in the future a Date may be before it
// counts as a future date.
const DefaultMaxDateSkew = 24 * time.Hour

// Options configure a Checker. The zero value is ready to use: an
// in-memory store, full confidence after 200 messages of each class, the
// system clock.
type Options struct {
	// Store keeps the classifier's counts; nil means a new MemoryStore.
	Store Store
	// MinLearned is how many ham and how many spam messages the classifier
	// must have learned for full confidence; below that its confidence is
	// the fraction learned of the smaller class. 0 means DefaultMinLearned.
	MinLearned int
	// Now is the clock for date checks; nil means time.Now.
	Now func() time.Time
	// MaxDateSkew is how far ahead of Now a Date may be; 0 means
	// DefaultMaxDateSkew.
	MaxDateSkew time.Duration
}

// Checker is the content check: MIME, text and HTML heuristics and a
// trainable token classifier. It implements mailscore.Check,
// mailscore.Learner and mailscore.SymbolProvider and is safe for concurrent
// use.
type Checker struct {
	store      Store
	minLearned int
	now        func() time.Time
	skew       time.Duration
	pool       sync.Pool // *analysis
}

// The interfaces a Checker implements.
var (
	_ mailscore.Check          = (*Checker)(nil)
	_ mailscore.Learner        = (*Checker)(nil)
	_ mailscore.SymbolProvider = (*Checker)(nil)
)

// New returns a Checker. It is cheap (an empty store), so evaluations can
// create a fresh one per fold.
func New(opts Options) (*Checker, error) {
	if opts.MinLearned < 0 {
		return nil, fmt.Errorf("content: MinLearned %d is negative", opts.MinLearned)
	}
	if opts.MaxDateSkew < 0 {
		return nil, fmt.Errorf("content: MaxDateSkew %v is negative", opts.MaxDateSkew)
	}
	c := &Checker{store: opts.Store, minLearned: opts.MinLearned, now: opts.Now, skew: opts.MaxDateSkew}
	if c.store == nil {
		c.store = NewMemoryStore(MemoryOptions{})
	}
	if c.minLearned == 0 {
		c.minLearned = DefaultMinLearned
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.skew == 0 {
		c.skew = DefaultMaxDateSkew
	}
	seed := rand.Uint64()
	c.pool.New = func() any { return &analysis{set: tokenSet{seed: seed}} }
	return c, nil
}

// Name implements mailscore.Check.
func (c *Checker) Name() string { return Name }

// Store returns the classifier's store (a *MemoryStore unless
// Options.Store said otherwise), for saving and loading its state.
func (c *Checker) Store() Store { return c.store }

// Symbols implements mailscore.SymbolProvider.
func (c *Checker) Symbols() []mailscore.Symbol {
	return append([]mailscore.Symbol(nil), symbols...)
}

// analysis is everything one pass over a message finds. Reused through a
// pool; nothing in it outlives the call.
type analysis struct {
	mi         *mailscore.MIME
	subject    string
	plain      int // text parts that are not HTML
	html       int
	hs         htmlStats
	hw         htmlWalker // reused with its buffers
	lex        htmlLexer  // reused with its buffer
	visible    []byte
	body, subj textStats
	gtube      bool
	tk         tokenizer
	set        tokenSet
	uniq       []token
	hashes     []uint64
	counts     []Counts
	clues      []clue
	att        attachFindings
}

func (a *analysis) reset() {
	// Drop references into the last message so the pool does not keep it alive.
	clear(a.tk.srcs)
	clear(a.hs.tags)
	clear(a.hs.linkHosts)
	visible, toks, srcs, hashes, counts, clues, set := a.visible[:0], a.tk.toks[:0], a.tk.srcs[:0], a.hashes[:0], a.counts[:0], a.clues[:0], a.set
	tags, hosts := a.hs.tags[:0], a.hs.linkHosts[:0]
	*a = analysis{visible: visible, hashes: hashes, counts: counts, clues: clues, set: set, hw: a.hw, lex: a.lex}
	a.hs.tags, a.hs.linkHosts = tags, hosts
	a.tk.toks, a.tk.srcs = toks, srcs
}

// gtubeString is the Generic Test for Unsolicited Bulk Email.
var gtubeString = []byte("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")

// analyze walks the message once: MIME parts, HTML, classifier tokens and,
// when heuristics is set, text statistics and attachments.
func (c *Checker) analyze(msg *mailscore.Message, a *analysis, heuristics bool) {
	a.mi = msg.MIME()
	subj, _ := mailscore.DecodeHeaderValue(msg.Header.Get("Subject"))
	a.subject = subj
	if heuristics {
		scanText(subj, &a.subj)
		a.gtube = bytes.Contains(msg.Body(), gtubeString)
	}

	tk := &a.tk
	for i := range a.mi.Parts {
		p := &a.mi.Parts[i]
		tk.addStr(nsBody, kCtype, p.ContentType, sNone)
		if p.Charset != "" {
			tk.addStr(nsBody, kCharset, p.Charset, sNone)
		}
		if p.Encoding != "" {
			tk.addStr(nsBody, kEncoding, p.Encoding, sNone)
		}
		if heuristics && !a.gtube && len(p.Body) > 0 && len(p.Body) < 4<<20 && bytes.Contains(p.Body, gtubeString) {
			a.gtube = true
		}
		if p.IsAttachment() {
			if ext := extOf(p.Filename); ext != "" {
				tk.addStr(nsBody, kAttachment, ext, sNone)
			} else {
				tk.addStr(nsBody, kAttachment, "", sNoName)
			}
		}
		// Text is read unless it is explicitly an attachment (a named
		// inline text part is still part of what the reader sees).
		if p.Disposition == "attachment" {
			continue
		}
		switch {
		case p.ContentType == "text/html":
			a.html++
			a.hw.analyze(&a.lex, p.Text, &a.hs, &a.visible)
		case strings.HasPrefix(p.ContentType, "text/"):
			a.plain++
			if heuristics {
				scanText(p.Text, &a.body)
			}
			tk.text(nsBody, p.Text)
		}
	}
	if a.html > 0 {
		vis := string(a.visible)
		if heuristics {
			scanText(vis, &a.body)
		}
		tk.text(nsBody, vis)
		for _, t := range a.hs.tags {
			tk.addStr(nsBody, kTag, t, sNone)
		}
		for _, h := range a.hs.linkHosts {
			tk.host(h)
		}
		if a.hs.hiddenChars > 0 {
			tk.addStr(nsBody, kHTML, "", sHiddenText)
		}
		if a.hs.mismatches > 0 {
			tk.addStr(nsBody, kHTML, "", sLinkMismatch)
		}
		if a.hs.images > 0 {
			tk.addStr(nsBody, kHTML, "", sImages)
		}
	}
	tk.headers(msg, subj)
	if heuristics {
		a.att = inspectAttachments(a.mi)
	}
}

// Check implements mailscore.Check. It returns the heuristic signals that
// fired and the BAYES signal (with confidence 0, and a reason saying so,
// until the classifier has learned both classes). A store error is
// returned with the heuristic signals; the engine then records the check
// as incomplete.
func (c *Checker) Check(ctx context.Context, msg *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	a := c.pool.Get().(*analysis)
	defer func() {
		a.reset()
		c.pool.Put(a)
	}()
	c.analyze(msg, a, true)
	sigs := c.heuristics(msg, a)
	b, err := c.classify(ctx, a)
	if err != nil {
		return sigs, fmt.Errorf("content: classifier store: %w", err)
	}
	if s, ok := c.bayesSignal(b, &a.tk); ok {
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// classify looks the message's tokens up and combines the clues.
func (c *Checker) classify(ctx context.Context, a *analysis) (bayesResult, error) {
	a.uniq = a.set.dedupe(a.tk.toks)
	a.hashes = a.hashes[:0]
	for _, t := range a.uniq {
		a.hashes = append(a.hashes, t.h)
	}
	if cap(a.counts) < len(a.hashes) {
		a.counts = make([]Counts, len(a.hashes))
	}
	a.counts = a.counts[:len(a.hashes)]
	total, err := c.store.Counts(ctx, a.hashes, a.counts)
	if err != nil {
		return bayesResult{}, err
	}
	r := bayesResult{
		prob: 0.5, ham: float64(total.Ham) / UnitsPerReport, spam: float64(total.Spam) / UnitsPerReport,
		considered: len(a.uniq),
	}
	if total.Ham == 0 || total.Spam == 0 {
		return r, nil
	}
	a.clues = selectClues(a.uniq, a.counts, total, a.clues)
	r.clues = a.clues
	r.prob = combine(a.clues)
	return r, nil
}

// Learn implements mailscore.Learner: it adds the message's tokens to the
// label's counts. A report from a person or a spam trap counts fully
// (UnitsPerReport units); the engine's own verdict (SourceVerdict) counts a
// quarter, so the filter cannot entrench its own mistakes quickly.
func (c *Checker) Learn(ctx context.Context, msg *mailscore.Message, fb mailscore.Feedback) error {
	if fb.Label != mailscore.Spam && fb.Label != mailscore.Ham {
		return fmt.Errorf("content: learn: label must be spam or ham, got %v", fb.Label)
	}
	units := uint32(UnitsPerReport)
	if fb.Source == mailscore.SourceVerdict {
		units = 1
	}
	a := c.pool.Get().(*analysis)
	defer func() {
		a.reset()
		c.pool.Put(a)
	}()
	c.analyze(msg, a, false)
	a.uniq = a.set.dedupe(a.tk.toks)
	a.hashes = a.hashes[:0]
	for _, t := range a.uniq {
		a.hashes = append(a.hashes, t.h)
	}
	if err := c.store.Add(ctx, a.hashes, fb.Label, units); err != nil {
		return fmt.Errorf("content: learn: %w", err)
	}
	return nil
}

// ErrNotSnapshotter is returned by Save, Load, SaveFile and LoadFile when
// the store (Options.Store) cannot save snapshots.
var ErrNotSnapshotter = errors.New("content: the store does not save snapshots")

// snapshotter is implemented by stores that save snapshots (MemoryStore).
type snapshotter interface {
	Save(w io.Writer) error
	Load(r io.Reader) error
	SaveFile(path string) error
	LoadFile(path string) error
}

func (c *Checker) snapshotter() (snapshotter, error) {
	s, ok := c.store.(snapshotter)
	if !ok {
		return nil, ErrNotSnapshotter
	}
	return s, nil
}

// Save writes the classifier's counts to w as a checksummed snapshot (see
// MemoryStore.Save).
func (c *Checker) Save(w io.Writer) error {
	s, err := c.snapshotter()
	if err != nil {
		return err
	}
	return s.Save(w)
}

// Load replaces the classifier's counts with the snapshot read from r; a
// corrupt or truncated snapshot is refused and the counts are unchanged.
func (c *Checker) Load(r io.Reader) error {
	s, err := c.snapshotter()
	if err != nil {
		return err
	}
	return s.Load(r)
}

// SaveFile saves the classifier's counts to path atomically (see
// MemoryStore.SaveFile).
func (c *Checker) SaveFile(path string) error {
	s, err := c.snapshotter()
	if err != nil {
		return err
	}
	return s.SaveFile(path)
}

// LoadFile replaces the classifier's counts with the snapshot at path; a
// corrupt or truncated snapshot is refused and the counts are unchanged. A
// missing file gives an error matching fs.ErrNotExist.
func (c *Checker) LoadFile(path string) error {
	s, err := c.snapshotter()
	if err != nil {
		return err
	}
	return s.LoadFile(path)
}

// confidence is the classifier's confidence: the share learned of the
// smaller class, up to MinLearned.
func (c *Checker) confidence(b bayesResult) float64 {
	return math.Min(1, math.Min(b.ham, b.spam)/float64(c.minLearned))
}
