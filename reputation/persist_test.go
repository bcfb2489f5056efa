package reputation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/snapshot"
)

// query is one sender whose answers must survive a save and a load.
type query struct {
	ip      string
	domains []string
}

// populate teaches a checker a mixed history: IPv4 and IPv6 senders,
// domains and pairs, every source, over several days; n scales it.
func populate(t testing.TB, c *Checker, clk *fakeClock, n int) []query {
	t.Helper()
	ctx := context.Background()
	var qs []query
	for i := range n {
		var ip netip.Addr
		if i%3 == 0 {
			ip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i%7 + 1)})
		} else {
			ip = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		}
		doms := []string{fmt.Sprintf("sender%d.example", i%97)}
		if i%5 == 0 {
			doms = append(doms, fmt.Sprintf("mail.org%d.example", i%13))
		}
		_, err := c.CheckIP(ctx, ip, doms...)
		require.NoError(t, err)
		label, src := mailscore.Ham, mailscore.SourceUser
		switch i % 4 {
		case 1:
			label = mailscore.Spam
		case 2:
			label, src = mailscore.Spam, mailscore.SourceTrap
		case 3:
			src = mailscore.SourceVerdict
		}
		for range i%9 + 1 {
			require.NoError(t, c.LearnIP(ctx, ip, doms, label, src))
		}
		if i%50 == 49 {
			clk.Advance(day)
		}
		qs = append(qs, query{ip.String(), doms})
	}
	return qs
}

// answers returns what a read-only checker over store says for the queries.
func answers(t testing.TB, clk *fakeClock, store Store, qs []query) [][]mailscore.Signal {
	t.Helper()
	c := newChecker(t, clk, Options{Store: store, ReadOnly: true})
	var out [][]mailscore.Signal
	for _, q := range qs {
		out = append(out, checkIP(t, c, q.ip, q.domains...))
	}
	return out
}

func saved(t testing.TB, s *MemStore) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	return buf.Bytes()
}

// Acceptance: save, load, identical answers.
func TestSaveLoadIdentical(t *testing.T) {
	clk := newClock()
	store := NewMemStore(MemStoreOptions{})
	c := newChecker(t, clk, Options{Store: store})
	qs := populate(t, c, clk, 600)
	snap := saved(t, store)
	t.Logf("%d keys, snapshot %d bytes (%.1f bytes a key)", store.Len(), len(snap), float64(len(snap))/float64(store.Len()))

	loaded := NewMemStore(MemStoreOptions{})
	require.NoError(t, loaded.Load(bytes.NewReader(snap)))
	require.Equal(t, store.Len(), loaded.Len())
	// Saving what was loaded gives the same bytes: same keys, same order.
	require.Equal(t, snap, saved(t, loaded))
	require.Equal(t, answers(t, clk, store, qs), answers(t, clk, loaded, qs))

	// Later, both decay alike.
	clk.Advance(45 * day)
	require.Equal(t, answers(t, clk, store, qs), answers(t, clk, loaded, qs))

	// A smaller store keeps the most recently used keys.
	small := NewMemStore(MemStoreOptions{MaxKeys: 64, Shards: 1})
	require.NoError(t, small.Load(bytes.NewReader(snap)))
	require.Equal(t, 64, small.Len())
}

// Acceptance: a truncated snapshot is refused, and so is a corrupt one;
// the store keeps what it had.
func TestLoadRefusesDamage(t *testing.T) {
	clk := newClock()
	store := NewMemStore(MemStoreOptions{})
	c := newChecker(t, clk, Options{Store: store})
	populate(t, c, clk, 200)
	snap := saved(t, store)

	target := NewMemStore(MemStoreOptions{})
	tc := newChecker(t, clk, Options{Store: target})
	before := populate(t, tc, clk, 20)
	want := answers(t, clk, target, before)
	wantLen := target.Len()

	cuts := []int{0, 1, 10, 17, 40, len(snap) / 3, len(snap) / 2, len(snap) - 21, len(snap) - 20, len(snap) - 1}
	for _, n := range cuts {
		err := target.Load(bytes.NewReader(snap[:n]))
		require.ErrorIs(t, err, ErrCorruptSnapshot, "cut at %d", n)
	}
	for _, i := range []int{30, len(snap) / 2, len(snap) - 25, len(snap) - 5} {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x40
		require.ErrorIs(t, target.Load(bytes.NewReader(bad)), ErrCorruptSnapshot, "flip at %d", i)
	}
	var other bytes.Buffer
	require.NoError(t, snapshot.Encode(&other, "classifier", 1, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }))
	require.ErrorIs(t, target.Load(&other), snapshot.ErrWrongKind)
	// Nothing of the refused snapshots was loaded.
	require.Equal(t, wantLen, target.Len())
	require.Equal(t, want, answers(t, clk, target, before))

	// A well-framed payload with impossible records is refused too.
	payload := func(rec []byte) []byte {
		var b bytes.Buffer
		require.NoError(t, snapshot.Encode(&b, snapshotKind, snapshotVersion, func(w io.Writer) error {
			_, err := w.Write(append(make([]byte, 16), rec...))
			return err
		}))
		return b.Bytes()
	}
	rec := func(a, b uint64, f0 float32, first, last uint32) []byte {
		r := binary.LittleEndian.AppendUint64(nil, a)
		r = binary.LittleEndian.AppendUint64(r, b)
		for i := range 8 {
			v := float32(0)
			if i == 0 {
				v = f0
			}
			r = binary.LittleEndian.AppendUint32(r, math.Float32bits(v))
		}
		r = binary.LittleEndian.AppendUint32(r, first)
		return binary.LittleEndian.AppendUint32(r, last)
	}
	net24 := tag(KindIP, false, 24) | 0xc0000200 // 192.0.2.0/24
	good := rec(0, net24, 1, 5, 6)
	require.NoError(t, NewMemStore(MemStoreOptions{}).Load(bytes.NewReader(payload(good))))
	for name, r := range map[string][]byte{
		"kind":           rec(0, tag(6, false, 24)|0xc0000200, 1, 5, 6),
		"kind 0":         rec(0, tag(0, false, 24)|0xc0000200, 1, 5, 6),
		"bits":           rec(0, tag(KindIP, false, 33)|0xc0000200, 1, 5, 6),
		"unmasked":       rec(0, net24|1, 1, 5, 6),
		"IPv4 with a":    rec(7, net24, 1, 5, 6),
		"IPv6 /129":      rec(0, tag(KindIP, true, 129), 1, 5, 6),
		"IPv6 unmasked":  rec(0x20010db800000001, tag(KindIP, true, 48), 1, 5, 6),
		"domain with v6": rec(42, tag(KindDomain, true, 0), 1, 5, 6),
		"pair /49":       rec(42, tag(KindPair, true, 49), 1, 5, 6),
		"NaN":            rec(0, net24, float32(math.NaN()), 5, 6),
		"negative":       rec(0, net24, -1, 5, 6),
		"infinite":       rec(0, net24, float32(math.Inf(1)), 5, 6),
		"times":          rec(0, net24, 1, 7, 6),
		"never seen":     rec(0, net24, 1, 0, 6),
		"short":          good[:len(good)-1],
		"twice":          append(bytes.Clone(good), good...),
	} {
		err := NewMemStore(MemStoreOptions{}).Load(bytes.NewReader(payload(r)))
		require.ErrorIs(t, err, ErrCorruptSnapshot, name)
		t.Logf("%s: %v", name, err)
	}
}

func TestLoadFileMissing(t *testing.T) {
	err := NewMemStore(MemStoreOptions{}).LoadFile(filepath.Join(t.TempDir(), "none.snap"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// helperEnv names the environment variable that turns the test binary
// into the writer that TestCrashMidSave kills.
const helperEnv = "REPUTATION_CRASH_WRITER"

// blockingWriter passes through the first n bytes, then tells the parent
// (by creating ready) and blocks forever.
type blockingWriter struct {
	w     io.Writer
	n     int
	ready string
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	if len(p) <= b.n {
		b.n -= len(p)
		return b.w.Write(p)
	}
	k, err := b.w.Write(p[:b.n])
	b.n = 0
	if err != nil {
		return k, err
	}
	_ = os.WriteFile(b.ready, []byte("blocked"), 0o600)
	select {} // the parent kills the process here
}

// TestHelperWriter is not a test: run by TestCrashMidSave in a subprocess,
// it saves a bigger state over the snapshot and blocks midway.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestCrashMidSave")
	}
	clk := newClock()
	store := NewMemStore(MemStoreOptions{})
	c := newChecker(t, clk, Options{Store: store})
	populate(t, c, clk, 3000)
	store.wrapSave = func(w io.Writer) io.Writer {
		// Past the 64 KiB buffer of the snapshot encoder, so that part of
		// the new snapshot reaches the disk before the kill.
		return &blockingWriter{w: w, n: 100 << 10, ready: path + ".ready"}
	}
	_ = store.SaveFile(path)
	t.Fatal("the writer should have blocked")
}

// Acceptance: a crash mid-save (a writer subprocess killed while writing)
// leaves the previous snapshot intact.
func TestCrashMidSave(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a subprocess")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.snap")
	clk := newClock()
	store := NewMemStore(MemStoreOptions{})
	c := newChecker(t, clk, Options{Store: store})
	qs := populate(t, c, clk, 300)
	require.NoError(t, store.SaveFile(path))
	prev, err := os.ReadFile(path)
	require.NoError(t, err)
	want := answers(t, clk, store, qs)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(path + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the writer never blocked: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, "signal: killed", ee.Error())

	// The killed writer left its half-written temporary file behind...
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var tmp string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".state.snap.tmp-") {
			tmp = filepath.Join(dir, e.Name())
		}
	}
	require.NotEmpty(t, tmp, "no temporary file: %v", entries)
	fi, err := os.Stat(tmp)
	require.NoError(t, err)
	require.Positive(t, fi.Size())
	t.Logf("killed mid-save: temporary file %d bytes; previous snapshot %d bytes", fi.Size(), len(prev))
	// ... which is refused as a snapshot...
	require.ErrorIs(t, NewMemStore(MemStoreOptions{}).LoadFile(tmp), ErrCorruptSnapshot)
	// ... and the previous snapshot is intact and loads identically.
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(prev), sha256.Sum256(now))
	loaded := NewMemStore(MemStoreOptions{})
	require.NoError(t, loaded.LoadFile(path))
	require.Equal(t, want, answers(t, clk, loaded, qs))

	// And the next save replaces it cleanly.
	require.NoError(t, loaded.SaveFile(path))
	require.NoError(t, NewMemStore(MemStoreOptions{}).LoadFile(path))
}
