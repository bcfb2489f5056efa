package content

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/snapshot"
	"github.com/stretchr/testify/require"
)

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(MemoryOptions{})
	require.NoError(t, s.Add(ctx, []uint64{1, 2}, mailscore.Spam, 4))
	require.NoError(t, s.Add(ctx, []uint64{2, 3}, mailscore.Ham, 1))
	require.Error(t, s.Add(ctx, []uint64{9}, mailscore.LabelUnknown, 4))
	out := make([]Counts, 4)
	total, err := s.Counts(ctx, []uint64{1, 2, 3, 4}, out)
	require.NoError(t, err)
	require.Equal(t, Counts{Ham: 1, Spam: 4}, total)
	require.Equal(t, []Counts{{0, 4}, {1, 4}, {1, 0}, {0, 0}}, out)
	_, err = s.Counts(ctx, []uint64{1, 2}, out[:1])
	require.Error(t, err)
	require.Equal(t, 3, s.Len())
}

func TestMemoryStoreSaturates(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(MemoryOptions{})
	require.NoError(t, s.Add(ctx, []uint64{1}, mailscore.Spam, 1<<31))
	require.NoError(t, s.Add(ctx, []uint64{1}, mailscore.Spam, 1<<31))
	require.NoError(t, s.Add(ctx, []uint64{1}, mailscore.Spam, 1<<31))
	out := make([]Counts, 1)
	total, _ := s.Counts(ctx, []uint64{1}, out)
	require.Equal(t, uint32(1<<32-1), out[0].Spam)
	require.Equal(t, uint32(1<<32-1), total.Spam)
}

func TestMemoryStorePrunes(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(MemoryOptions{MaxTokens: 100})
	// Tokens 0-19 are seen in every message; the others once each.
	next := uint64(1000)
	for i := 0; i < 50; i++ {
		hs := []uint64{}
		for k := uint64(0); k < 20; k++ {
			hs = append(hs, k)
		}
		for k := 0; k < 5; k++ {
			hs = append(hs, next)
			next++
		}
		require.NoError(t, s.Add(ctx, hs, mailscore.Ham, 4))
		require.LessOrEqual(t, s.Len(), 100)
	}
	out := make([]Counts, 20)
	_, err := s.Counts(ctx, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, out)
	require.NoError(t, err)
	for k, c := range out {
		require.Equal(t, uint32(200), c.Ham, "frequent token %d was kept", k)
	}
	// The newest rare tokens survive, the oldest went first.
	_, err = s.Counts(ctx, []uint64{next - 1, 1000}, out[:2])
	require.NoError(t, err)
	require.Equal(t, uint32(4), out[0].Ham)
	require.Zero(t, out[1].Ham)
}

func filledStore(t testing.TB, n int) *MemoryStore {
	s := NewMemoryStore(MemoryOptions{})
	ctx := context.Background()
	for i := 0; i < n; i++ {
		label := mailscore.Ham
		if i%3 == 0 {
			label = mailscore.Spam
		}
		require.NoError(t, s.Add(ctx, []uint64{uint64(i) * 0x9e3779b97f4a7c15, uint64(i % 7), 1 << 63}, label, uint32(1+i%4)))
	}
	return s
}

func storeState(s *MemoryStore) (map[uint64]entry, Counts, uint32) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := make(map[uint64]entry, len(s.tokens))
	for k, v := range s.tokens {
		m[k] = v
	}
	return m, s.total, s.gen
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := filledStore(t, 500)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	var again bytes.Buffer
	require.NoError(t, s.Save(&again))
	require.Equal(t, buf.Bytes(), again.Bytes(), "snapshots are deterministic")

	l := NewMemoryStore(MemoryOptions{})
	require.NoError(t, l.Load(bytes.NewReader(buf.Bytes())))
	wt, wc, wg := storeState(s)
	gt, gc, gg := storeState(l)
	require.Equal(t, wt, gt)
	require.Equal(t, wc, gc)
	require.Equal(t, wg, gg)

	// Loading into a smaller store keeps the most-seen tokens.
	small := NewMemoryStore(MemoryOptions{MaxTokens: 10})
	require.NoError(t, small.Load(bytes.NewReader(buf.Bytes())))
	require.Equal(t, 10, small.Len())
	out := make([]Counts, 1)
	_, _ = small.Counts(context.Background(), []uint64{1 << 63}, out)
	require.NotZero(t, out[0].Ham+out[0].Spam)
}

func TestSnapshotRefusesDamage(t *testing.T) {
	s := filledStore(t, 200)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	good := buf.Bytes()

	target := filledStore(t, 5)
	before, beforeTotal, _ := storeState(target)
	check := func(name string, data []byte, want error) {
		t.Helper()
		err := target.Load(bytes.NewReader(data))
		require.ErrorIs(t, err, want, name)
		after, afterTotal, _ := storeState(target)
		require.Equal(t, before, after, "%s: a refused snapshot leaves the store unchanged", name)
		require.Equal(t, beforeTotal, afterTotal)
	}
	for _, cut := range []int{0, 1, 10, len(good) / 2, len(good) - 21, len(good) - 1} {
		check("truncated", good[:cut], snapshot.ErrCorrupt)
	}
	for _, at := range []int{40, len(good) / 2, len(good) - 15} {
		bad := bytes.Clone(good)
		bad[at] ^= 0x40
		check("bit flip", bad, snapshot.ErrCorrupt)
	}
	var other bytes.Buffer
	require.NoError(t, snapshot.Encode(&other, "reputation", 1, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }))
	check("wrong kind", other.Bytes(), snapshot.ErrWrongKind)

	// Framing intact but the payload is wrong: refused by the payload parser.
	payload := func(write func(b []byte) []byte) []byte {
		var b bytes.Buffer
		require.NoError(t, snapshot.Encode(&b, snapshotKind, snapshotVersion, func(w io.Writer) error {
			_, err := w.Write(write(nil))
			return err
		}))
		return b.Bytes()
	}
	header := func(b []byte, n uint64) []byte {
		for _, v := range []uint64{4, 4, 2, n} {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	tok := func(b []byte, h uint64) []byte {
		b = binary.BigEndian.AppendUint64(b, h)
		return append(b, 4, 0, 1)
	}
	check("count larger than the payload", payload(func(b []byte) []byte { return tok(header(b, 1000), 1) }), ErrBadSnapshot)
	check("tokens out of order", payload(func(b []byte) []byte { return tok(tok(header(b, 2), 5), 3) }), ErrBadSnapshot)
	check("duplicate token", payload(func(b []byte) []byte { return tok(tok(header(b, 2), 5), 5) }), ErrBadSnapshot)
	check("trailing bytes", payload(func(b []byte) []byte { return append(tok(header(b, 1), 5), 0) }), ErrBadSnapshot)
	check("count out of range", payload(func(b []byte) []byte {
		b = binary.AppendUvarint(b, 1<<40)
		return b
	}), ErrBadSnapshot)
	var wrongVersion bytes.Buffer
	require.NoError(t, snapshot.Encode(&wrongVersion, snapshotKind, 99, func(w io.Writer) error { return nil }))
	check("unknown version", wrongVersion.Bytes(), ErrBadSnapshot)
}

func TestCheckerSaveLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "content.snap")
	c := newTestChecker(t)
	for i := 0; i < 5; i++ {
		learnText(t, c, mailscore.Spam, mailscore.SourceUser, "pills", "cheap pills")
		learnText(t, c, mailscore.Ham, mailscore.SourceUser, "minutes", "meeting minutes")
	}
	require.NoError(t, c.SaveFile(path))
	probe := mail("", "cheap pills\r\n")
	want := checkRaw(t, c, probe)[SymBayes]

	fresh := newTestChecker(t)
	require.NoError(t, fresh.LoadFile(path))
	require.Equal(t, want, checkRaw(t, fresh, probe)[SymBayes])

	// A damaged file is refused and the learned state stays.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw[:len(raw)-3], 0o600))
	err = fresh.LoadFile(path)
	require.ErrorIs(t, err, snapshot.ErrCorrupt)
	require.Equal(t, want, checkRaw(t, fresh, probe)[SymBayes])
	require.ErrorIs(t, fresh.LoadFile(filepath.Join(dir, "missing.snap")), fs.ErrNotExist, "a missing file is told apart from a bad one")

	other, err := New(Options{Store: storeFunc{}})
	require.NoError(t, err)
	require.True(t, errors.Is(other.SaveFile(path), ErrNotSnapshotter))
	require.True(t, errors.Is(other.LoadFile(path), ErrNotSnapshotter))
	require.True(t, errors.Is(other.Save(io.Discard), ErrNotSnapshotter))
	require.True(t, errors.Is(other.Load(bytes.NewReader(nil)), ErrNotSnapshotter))
}

// TestCheckerSaveLoad covers the io.Writer / io.Reader form the example CLI
// uses for its combined state file.
func TestCheckerSaveLoad(t *testing.T) {
	c := newTestChecker(t)
	for i := 0; i < 3; i++ {
		learnText(t, c, mailscore.Spam, mailscore.SourceUser, "pills", "cheap pills")
		learnText(t, c, mailscore.Ham, mailscore.SourceUser, "minutes", "meeting minutes")
	}
	var buf bytes.Buffer
	require.NoError(t, c.Save(&buf))
	fresh := newTestChecker(t)
	require.NoError(t, fresh.Load(bytes.NewReader(buf.Bytes())))
	probe := mail("", "cheap pills\r\n")
	require.Equal(t, checkRaw(t, c, probe)[SymBayes], checkRaw(t, fresh, probe)[SymBayes])
	require.ErrorIs(t, fresh.Load(bytes.NewReader(buf.Bytes()[:buf.Len()/2])), snapshot.ErrCorrupt)
}

// storeFunc is a Store that fails, to test error paths.
type storeFunc struct{}

var errStoreDown = errors.New("store down")

func (storeFunc) Counts(context.Context, []uint64, []Counts) (Counts, error) {
	return Counts{}, errStoreDown
}
func (storeFunc) Add(context.Context, []uint64, mailscore.Label, uint32) error { return errStoreDown }

func TestStoreErrors(t *testing.T) {
	c, err := New(Options{Store: storeFunc{}})
	require.NoError(t, err)
	m := mustMessage(t, mail("", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"))
	sigs, err := c.Check(context.Background(), m, nil)
	require.ErrorIs(t, err, errStoreDown)
	require.Len(t, sigs, 1, "heuristic signals survive a store failure")
	require.Equal(t, SymGTUBE, sigs[0].Symbol)
	require.ErrorIs(t, c.Learn(context.Background(), m, mailscore.Feedback{Label: mailscore.Spam}), errStoreDown)
}

// BenchmarkMemoryStoreBytesPerToken measures the memory a token costs.
func BenchmarkMemoryStoreBytesPerToken(b *testing.B) {
	const n = 1 << 20
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewMemoryStore(MemoryOptions{})
		hs := make([]uint64, 1024)
		for i := 0; i < n; i += len(hs) {
			for k := range hs {
				hs[k] = uint64(i+k) * 0x9e3779b97f4a7c15
			}
			_ = s.Add(context.Background(), hs, mailscore.Ham, 4)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/token")
		runtime.KeepAlive(s)
	}
}
