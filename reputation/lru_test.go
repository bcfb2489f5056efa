package reputation

import (
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/stretchr/testify/require"
)

// TestMemLRUMatchesSimpleLRU runs random operations on memLRU and on
// golang-lru's simplelru side by side: the same entries, values and
// recency order (eviction and snapshot order) throughout.
func TestMemLRUMatchesSimpleLRU(t *testing.T) {
	for _, tt := range []struct {
		name       string
		size, keys int
	}{
		{"one entry", 1, 3},
		{"small", 2, 5},
		{"full and evicting", 5, 12},
		{"growing", 64, 100},
		{"never full", 300, 100},
		{"large, wrapping the index", 1000, 3000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tt.size), uint64(tt.keys)))
			got := newMemLRU(tt.size)
			want, err := simplelru.NewLRU[memKey, Evidence](tt.size, nil)
			require.NoError(t, err)
			for op := range 20000 {
				k := memKey{a: uint64(r.IntN(tt.keys)), b: 7}
				switch r.IntN(6) {
				case 0, 1: // read-modify-write, as MemStore.Update does
					ev, _ := want.Peek(k)
					ev.Seen++
					ev.Last = uint32(op)
					want.Add(k, ev)
					e := got.Entry(k)
					e.Seen++
					e.Last = uint32(op)
				case 2:
					ev, ok := want.Get(k)
					gev, gok := got.Get(k)
					require.Equal(t, ok, gok)
					require.Equal(t, ev, gev)
				case 3:
					want.Remove(k)
					got.Remove(k)
				case 4:
					require.Equal(t, want.Contains(k), got.Contains(k))
				case 5:
					ev := Evidence{SpamUser: float32(op), First: 1, Last: 2}
					want.Add(k, ev)
					got.Add(k, ev)
				}
				require.Equal(t, want.Len(), got.Len())
				require.LessOrEqual(t, got.Len(), tt.size)
				if op%101 == 0 {
					checkIndex(t, &got)
				}
				if op%97 == 0 || op > 19900 {
					keys, evs := []memKey{}, []Evidence{}
					got.oldestFirst(func(k *memKey, e *Evidence) {
						keys = append(keys, *k)
						evs = append(evs, *e)
					})
					require.Equal(t, want.Keys(), keys, "op %d", op)
					require.Equal(t, want.Values(), evs, "op %d", op)
				}
			}
			require.LessOrEqual(t, len(got.slots), tt.size+1, "slots beyond the size")
		})
	}
}

// checkIndex checks that the index holds exactly the listed entries, each
// where probing from its hash finds it.
func checkIndex(t *testing.T, l *memLRU) {
	t.Helper()
	n := 0
	for i := l.slots[0].next; i != 0; i = l.slots[i].next {
		_, slot := l.find(l.slots[i].key)
		require.Equal(t, i, slot)
		n++
	}
	held := 0
	for _, i := range l.index {
		if i != 0 {
			held++
		}
	}
	require.Equal(t, n, held)
	require.Equal(t, n, l.n)
	require.LessOrEqual(t, 2*l.n, len(l.index))
}
