package content

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/snapshot"
)

// Counts are the classifier's counts for one token, or the number of
// messages learned when they are totals. They are kept in units: a report
// from a person or a spam trap adds UnitsPerReport, the engine's own verdict
// adds one unit.
type Counts struct {
	Ham, Spam uint32
}

// UnitsPerReport is how many count units one user or trap report adds; a
// SourceVerdict report adds one unit, a quarter of that.
const UnitsPerReport = 4

// Store keeps the classifier's token counts. Tokens are 64-bit hashes (the
// store never sees message text). Implementations must be safe for
// concurrent use.
type Store interface {
	// Counts writes the counts of hashes[i] into out[i] (zero when
	// unknown; len(out) == len(hashes)) and returns the message totals.
	Counts(ctx context.Context, hashes []uint64, out []Counts) (total Counts, err error)
	// Add adds units to the label's count of every token in hashes (which
	// holds no duplicates) and to the label's message total.
	Add(ctx context.Context, hashes []uint64, label mailscore.Label, units uint32) error
}

// MemoryOptions configure a MemoryStore. The zero value is ready to use.
type MemoryOptions struct {
	// MaxTokens bounds the tokens kept; 0 means DefaultMaxTokens. When it
	// is exceeded the store forgets a tenth of its tokens, those seen in the
	// fewest messages first and among them the least recently learned.
	MaxTokens int
}

// DefaultMaxTokens is the default bound of a MemoryStore. A token costs
// about 55 bytes of memory (8-byte hash, 12 bytes of counts and recency, map
// overhead; measured by BenchmarkMemoryStoreBytesPerToken), so the default
// holds at most about 60 MB. A classifier trained on tens of thousands of
// messages typically knows a few hundred thousand tokens.
const DefaultMaxTokens = 1 << 20

// MemoryStore is the default Store: counts in memory, bounded, with
// snapshot persistence (Save, Load, SaveFile, LoadFile).
type MemoryStore struct {
	mu     sync.RWMutex
	tokens map[uint64]entry
	total  Counts
	gen    uint32 // messages learned, for recency
	max    int
}

type entry struct {
	ham, spam uint32
	last      uint32 // gen when last learned
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	m := opts.MaxTokens
	if m <= 0 {
		m = DefaultMaxTokens
	}
	return &MemoryStore{tokens: make(map[uint64]entry), max: m}
}

// Counts implements Store.
func (s *MemoryStore) Counts(_ context.Context, hashes []uint64, out []Counts) (Counts, error) {
	if len(out) < len(hashes) {
		return Counts{}, errors.New("content: Counts: out is shorter than hashes")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, h := range hashes {
		e := s.tokens[h]
		out[i] = Counts{Ham: e.ham, Spam: e.spam}
	}
	return s.total, nil
}

func addSat(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// Add implements Store.
func (s *MemoryStore) Add(_ context.Context, hashes []uint64, label mailscore.Label, units uint32) error {
	if label != mailscore.Ham && label != mailscore.Spam {
		return fmt.Errorf("content: Add: label must be spam or ham, got %v", label)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if label == mailscore.Spam {
		s.total.Spam = addSat(s.total.Spam, units)
	} else {
		s.total.Ham = addSat(s.total.Ham, units)
	}
	for _, h := range hashes {
		e := s.tokens[h]
		if label == mailscore.Spam {
			e.spam = addSat(e.spam, units)
		} else {
			e.ham = addSat(e.ham, units)
		}
		e.last = s.gen
		s.tokens[h] = e
	}
	if len(s.tokens) > s.max {
		s.prune(s.max - s.max/10)
	}
	return nil
}

// prune forgets tokens until at most keep remain: the rarest first, and
// among equally rare ones the least recently learned. Rare tokens carry the
// least evidence (Robinson's f(w) keeps them near 0.5 anyway). Each token's
// rank is packed into one uint64 (count, then recency) so that finding the
// cut is a plain integer sort: about 0.1 s for a million tokens, once per
// tenth of MaxTokens new tokens.
func (s *MemoryStore) prune(keep int) {
	drop := len(s.tokens) - keep
	if drop <= 0 {
		return
	}
	rank := func(e entry) uint64 {
		total := min(uint64(e.ham)+uint64(e.spam), math.MaxUint32)
		return total<<32 | uint64(e.last)
	}
	ranks := make([]uint64, 0, len(s.tokens))
	for _, e := range s.tokens {
		ranks = append(ranks, rank(e))
	}
	slices.Sort(ranks)
	cut := ranks[drop-1] // drop everything ranked below cut, and enough ranked at it
	atCut := 0
	for _, r := range ranks[:drop] {
		if r == cut {
			atCut++
		}
	}
	for h, e := range s.tokens {
		switch r := rank(e); {
		case r < cut:
			delete(s.tokens, h)
		case r == cut && atCut > 0:
			delete(s.tokens, h)
			atCut--
		}
	}
}

// Len returns the number of tokens held.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens)
}

// Totals returns the message totals in units.
func (s *MemoryStore) Totals() Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.total
}

// Snapshot format, inside the checksummed framing of internal/snapshot:
// kind "content-tokens", version 1; payload: uvarint ham total, spam total,
// generation, token count; then per token, in ascending hash order, the
// 8-byte big-endian hash and uvarint ham, spam and last-learned.
const (
	snapshotKind    = "content-tokens"
	snapshotVersion = 1
	// MaxSnapshotSize bounds what LoadFile reads.
	MaxSnapshotSize = 1 << 30
)

// ErrBadSnapshot is returned for a snapshot whose payload does not parse.
// Damage to the framing matches snapshot.ErrCorrupt as well.
var ErrBadSnapshot = errors.New("content: bad token snapshot")

// Save writes a snapshot of the store to w.
func (s *MemoryStore) Save(w io.Writer) error {
	return snapshot.Encode(w, snapshotKind, snapshotVersion, s.writePayload)
}

// SaveFile saves a snapshot to path atomically: a crash leaves the old
// snapshot or the new one, never a mix.
func (s *MemoryStore) SaveFile(path string) error {
	return snapshot.WriteFile(path, snapshotKind, snapshotVersion, s.writePayload)
}

func (s *MemoryStore) writePayload(w io.Writer) error {
	s.mu.RLock()
	keys := make([]uint64, 0, len(s.tokens))
	for h := range s.tokens {
		keys = append(keys, h)
	}
	total, gen := s.total, s.gen
	s.mu.RUnlock()
	slices.Sort(keys)

	bw := bufio.NewWriterSize(w, 64<<10)
	var buf [3*binary.MaxVarintLen64 + 8]byte
	b := binary.AppendUvarint(buf[:0], uint64(total.Ham))
	b = binary.AppendUvarint(b, uint64(total.Spam))
	b = binary.AppendUvarint(b, uint64(gen))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	if _, err := bw.Write(b); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range keys {
		e := s.tokens[h] // a token learned since is written with its new counts
		b = binary.BigEndian.AppendUint64(buf[:0], h)
		b = binary.AppendUvarint(b, uint64(e.ham))
		b = binary.AppendUvarint(b, uint64(e.spam))
		b = binary.AppendUvarint(b, uint64(e.last))
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Load replaces the store's contents with the snapshot read from r. A
// truncated, corrupt or foreign snapshot is refused whole and the store is
// left unchanged. If the snapshot holds more tokens than MaxTokens, the
// rarest are forgotten.
func (s *MemoryStore) Load(r io.Reader) error {
	payload, version, err := snapshot.Decode(r, snapshotKind, MaxSnapshotSize)
	if err != nil {
		return fmt.Errorf("content: loading token snapshot: %w", err)
	}
	return s.loadPayload(payload, version)
}

// LoadFile is Load from the file at path.
func (s *MemoryStore) LoadFile(path string) error {
	payload, version, err := snapshot.ReadFile(path, snapshotKind, MaxSnapshotSize)
	if err != nil {
		return fmt.Errorf("content: loading token snapshot: %w", err)
	}
	return s.loadPayload(payload, version)
}

func (s *MemoryStore) loadPayload(p []byte, version int) error {
	if version != snapshotVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadSnapshot, version, snapshotVersion)
	}
	r := bytes.NewReader(p)
	u32 := func(what string) (uint32, error) {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return 0, fmt.Errorf("%w: reading %s: %v", ErrBadSnapshot, what, err)
		}
		if v > math.MaxUint32 {
			return 0, fmt.Errorf("%w: %s %d out of range", ErrBadSnapshot, what, v)
		}
		return uint32(v), nil
	}
	var total Counts
	var err error
	if total.Ham, err = u32("ham total"); err != nil {
		return err
	}
	if total.Spam, err = u32("spam total"); err != nil {
		return err
	}
	gen, err := u32("generation")
	if err != nil {
		return err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return fmt.Errorf("%w: reading token count: %v", ErrBadSnapshot, err)
	}
	// Each token takes at least 11 bytes: refuse a count the payload cannot hold.
	if n > uint64(r.Len())/11 {
		return fmt.Errorf("%w: %d tokens cannot fit in %d bytes", ErrBadSnapshot, n, r.Len())
	}
	tokens := make(map[uint64]entry, n)
	var prev uint64
	var hb [8]byte
	for i := uint64(0); i < n; i++ {
		if _, err := io.ReadFull(r, hb[:]); err != nil {
			return fmt.Errorf("%w: token %d: %v", ErrBadSnapshot, i, err)
		}
		h := binary.BigEndian.Uint64(hb[:])
		if i > 0 && h <= prev {
			return fmt.Errorf("%w: tokens out of order at %d", ErrBadSnapshot, i)
		}
		prev = h
		var e entry
		if e.ham, err = u32("ham count"); err != nil {
			return err
		}
		if e.spam, err = u32("spam count"); err != nil {
			return err
		}
		if e.last, err = u32("recency"); err != nil {
			return err
		}
		tokens[h] = e
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the last token", ErrBadSnapshot, r.Len())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.total, s.gen = tokens, total, gen
	if len(s.tokens) > s.max {
		s.prune(s.max)
	}
	return nil
}
