package reputation

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/internal/snapshot"
)

// fuzzSeeds returns a real snapshot and its payload.
func fuzzSeeds(f *testing.F) (snap, payload []byte) {
	clk := newClock()
	store := NewMemStore(MemStoreOptions{})
	c := newChecker(f, clk, Options{Store: store})
	populate(f, c, clk, 30)
	var b bytes.Buffer
	require.NoError(f, store.Save(&b))
	payload, _, err := snapshot.Decode(bytes.NewReader(b.Bytes()), snapshotKind, 1<<30)
	require.NoError(f, err)
	return b.Bytes(), payload
}

// roundTrip checks that what s holds saves and loads back to the same
// bytes.
func roundTrip(t *testing.T, s *MemStore) {
	var out bytes.Buffer
	require.NoError(t, s.Save(&out))
	again := NewMemStore(MemStoreOptions{MaxKeys: 1 << 12, Shards: 1})
	require.NoError(t, again.Load(bytes.NewReader(out.Bytes())))
	require.Equal(t, s.Len(), again.Len())
	var out2 bytes.Buffer
	require.NoError(t, again.Save(&out2))
	require.Equal(t, out.Bytes(), out2.Bytes())
}

// FuzzLoad feeds arbitrary bytes to Load as a whole snapshot: it must
// never panic, must refuse or accept whole, and what it accepts must save
// and load back to the same bytes.
func FuzzLoad(f *testing.F) {
	snap, payload := fuzzSeeds(f)
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add(payload)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewMemStore(MemStoreOptions{MaxKeys: 1 << 12, Shards: 1})
		if err := s.Load(bytes.NewReader(data)); err != nil {
			if !errors.Is(err, snapshot.ErrWrongKind) && !errors.Is(err, ErrSnapshotVersion) {
				require.ErrorIs(t, err, snapshot.ErrCorrupt)
			}
			require.Zero(t, s.Len(), "a refused snapshot loads nothing")
			return
		}
		roundTrip(t, s)
	})
}

// FuzzLoadPayload feeds arbitrary bytes to the record parser behind the
// checksum (a snapshot whose frame is intact but whose records are not):
// the same rules as FuzzLoad.
func FuzzLoadPayload(f *testing.F) {
	_, payload := fuzzSeeds(f)
	f.Add(payload)
	f.Add(payload[:len(payload)/2])
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Add(payload[:16+recordLen])
	f.Add(payload[:16+recordLen+7])
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewMemStore(MemStoreOptions{MaxKeys: 1 << 12, Shards: 1})
		if err := s.loadPayload(data, snapshotVersion); err != nil {
			require.ErrorIs(t, err, ErrCorruptSnapshot)
			require.Zero(t, s.Len(), "a refused snapshot loads nothing")
			return
		}
		roundTrip(t, s)
	})
}
