package reputation

// memLRU is one shard's least-recently-used set of entries: the entries
// in slots threaded into a doubly linked recency list by index, and an
// open-addressing hash index (linear probing) from key to slot. It
// replaces golang-lru/v2's simplelru, whose entries are separately
// allocated list elements with three pointers each, indexed by a Go map
// (about 170 bytes a key): nothing here holds a pointer, so the garbage
// collector never scans the entries (with simplelru, a million keys were
// millions of pointers to mark on every cycle, which cost a warm Check
// more than its own store work), a read-modify-write of an entry is one
// lookup instead of a Peek and an Add, and a key takes a 64-byte slot and
// about 8 bytes of index. Eviction and snapshot order are simplelru's:
// the least recently used entry goes first, reads (Get) and writes
// (Entry) make an entry the most recently used. It is not safe for
// concurrent use: memShard locks it.
type memLRU struct {
	// index holds slot numbers (0 for none) at the position of their key's
	// hash, or after it when taken (linear probing). Its length is a power
	// of two, at least twice the entries.
	index []uint32
	shift uint // 64 - log2(len(index)): a hash's top bits are its position
	n     int  // entries
	// slots[0] is the list's sentinel: slots[0].next is the most recently
	// used entry, slots[0].prev the least. A slot on the free list (after a
	// remove) is linked through next and is not in index.
	slots []memSlot
	free  uint32 // first free slot, 0 when none
	size  int    // the most entries held
}

type memSlot struct {
	key        memKey
	ev         Evidence
	prev, next uint32
}

// maxLRUSize keeps slot numbers within uint32 and the index's length
// within reason.
const maxLRUSize = 1 << 30

const minIndexBits = 4

func newMemLRU(size int) memLRU {
	size = max(1, min(size, maxLRUSize))
	return memLRU{
		index: make([]uint32, 1<<minIndexBits),
		shift: 64 - minIndexBits,
		slots: make([]memSlot, 1, min(size+1, 16)),
		size:  size,
	}
}

// keyHash mixes all the bits of a key. Shards take its low bits, a
// shard's index its top bits.
func keyHash(mk *memKey) uint64 {
	x := mk.a*0x9e3779b97f4a7c15 ^ mk.b
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// Len returns the number of entries.
func (l *memLRU) Len() int { return l.n }

// find returns the index position of k and its slot, or the empty
// position where k would go and 0.
func (l *memLRU) find(k memKey) (pos uint64, slot uint32) {
	mask := uint64(len(l.index) - 1)
	for pos = keyHash(&k) >> l.shift; ; pos = (pos + 1) & mask {
		i := l.index[pos]
		if i == 0 || l.slots[i].key == k {
			return pos, i
		}
	}
}

// unindex empties index position pos and moves up the entries after it
// that would no longer be found (backward-shift deletion).
func (l *memLRU) unindex(pos uint64) {
	mask := uint64(len(l.index) - 1)
	hole := pos
	for j := (pos + 1) & mask; ; j = (j + 1) & mask {
		i := l.index[j]
		if i == 0 {
			break
		}
		home := keyHash(&l.slots[i].key) >> l.shift
		// The entry at j stays when its home is cyclically in (hole, j].
		if hole <= j && hole < home && home <= j || hole > j && (hole < home || home <= j) {
			continue
		}
		l.index[hole] = i
		hole = j
	}
	l.index[hole] = 0
}

// grow doubles the index.
func (l *memLRU) grow() {
	old := l.index
	l.index = make([]uint32, 2*len(old))
	l.shift--
	mask := uint64(len(l.index) - 1)
	for _, i := range old {
		if i == 0 {
			continue
		}
		pos := keyHash(&l.slots[i].key) >> l.shift
		for l.index[pos] != 0 {
			pos = (pos + 1) & mask
		}
		l.index[pos] = i
	}
}

// unlink takes slot i out of the recency list.
func (l *memLRU) unlink(i uint32) {
	s := &l.slots[i]
	l.slots[s.prev].next = s.next
	l.slots[s.next].prev = s.prev
}

// pushFront makes slot i the most recently used.
func (l *memLRU) pushFront(i uint32) {
	head := l.slots[0].next
	l.slots[i].prev, l.slots[i].next = 0, head
	l.slots[head].prev = i
	l.slots[0].next = i
}

// toFront moves slot i, already in the list, to the front.
func (l *memLRU) toFront(i uint32) {
	if l.slots[0].next != i {
		l.unlink(i)
		l.pushFront(i)
	}
}

// Get returns the evidence held for k, if any, and makes k the most
// recently used.
func (l *memLRU) Get(k memKey) (Evidence, bool) {
	_, i := l.find(k)
	if i == 0 {
		return Evidence{}, false
	}
	l.toFront(i)
	return l.slots[i].ev, true
}

// Contains reports whether k is held, without changing recency.
func (l *memLRU) Contains(k memKey) bool {
	_, i := l.find(k)
	return i != 0
}

// Entry returns the evidence of k to update in place, making k the most
// recently used; a new k starts from the zero Evidence, and when the LRU
// is full the least recently used entry makes room. The pointer is valid
// until the next call that adds an entry.
func (l *memLRU) Entry(k memKey) *Evidence {
	pos, i := l.find(k)
	if i != 0 {
		l.toFront(i)
		return &l.slots[i].ev
	}
	switch {
	case l.n >= l.size:
		i = l.slots[0].prev // evict the least recently used
		l.unlink(i)
		opos, _ := l.find(l.slots[i].key)
		l.unindex(opos)
		l.n--
		pos, _ = l.find(k) // the hole may have moved k's place
	case l.free != 0:
		i = l.free
		l.free = l.slots[i].next
	default:
		if len(l.slots) == cap(l.slots) {
			// Grow by doubling, up to exactly the size (and the sentinel).
			grown := make([]memSlot, len(l.slots), min(2*cap(l.slots), l.size+1))
			copy(grown, l.slots)
			l.slots = grown
		}
		i = uint32(len(l.slots))
		l.slots = l.slots[:i+1]
	}
	if 2*(l.n+1) > len(l.index) {
		l.grow()
		pos, _ = l.find(k)
	}
	l.slots[i] = memSlot{key: k}
	l.pushFront(i)
	l.index[pos] = i
	l.n++
	return &l.slots[i].ev
}

// Add stores ev for k (see Entry).
func (l *memLRU) Add(k memKey, ev Evidence) { *l.Entry(k) = ev }

// Remove forgets k.
func (l *memLRU) Remove(k memKey) {
	pos, i := l.find(k)
	if i == 0 {
		return
	}
	l.unindex(pos)
	l.n--
	l.unlink(i)
	l.slots[i] = memSlot{next: l.free}
	l.free = i
}

// oldestFirst calls f for each entry, least recently used first.
func (l *memLRU) oldestFirst(f func(k *memKey, e *Evidence)) {
	for i := l.slots[0].prev; i != 0; i = l.slots[i].prev {
		f(&l.slots[i].key, &l.slots[i].ev)
	}
}
