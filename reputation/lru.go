package reputation

import "math"

// memLRU is one shard's least-recently-used set of entries: a map from
// key to slot, and the slots in a doubly linked recency list threaded by
// index. It replaces golang-lru/v2's simplelru, whose entries are
// separately allocated list elements with three pointers each (about 170
// bytes a key with its map): nothing here holds a pointer, so the garbage
// collector never scans the entries (with simplelru, a million keys were
// millions of pointers to mark on every cycle, which cost a warm Check
// more than its own store work), and a read-modify-write of an entry is
// one map lookup instead of a Peek and an Add. An entry takes a 64-byte
// slot plus its map slot. Eviction and snapshot order are simplelru's:
// the least recently used entry goes first, reads (Get) and writes
// (Entry) make an entry the most recently used. It is not safe for
// concurrent use: memShard locks it.
type memLRU struct {
	index map[memKey]uint32
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

// maxLRUSize keeps slot indexes within uint32.
const maxLRUSize = math.MaxUint32 - 1

func newMemLRU(size int) memLRU {
	size = max(1, min(size, maxLRUSize))
	return memLRU{index: make(map[memKey]uint32), slots: make([]memSlot, 1, min(size+1, 16)), size: size}
}

// Len returns the number of entries.
func (l *memLRU) Len() int { return len(l.index) }

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
	i, ok := l.index[k]
	if !ok {
		return Evidence{}, false
	}
	l.toFront(i)
	return l.slots[i].ev, true
}

// Contains reports whether k is held, without changing recency.
func (l *memLRU) Contains(k memKey) bool {
	_, ok := l.index[k]
	return ok
}

// Entry returns the evidence of k to update in place, making k the most
// recently used; a new k starts from the zero Evidence, and when the LRU
// is full the least recently used entry makes room. The pointer is valid
// until the next call that adds an entry.
func (l *memLRU) Entry(k memKey) *Evidence {
	if i, ok := l.index[k]; ok {
		l.toFront(i)
		return &l.slots[i].ev
	}
	var i uint32
	switch {
	case len(l.index) >= l.size:
		i = l.slots[0].prev // evict the least recently used
		l.unlink(i)
		delete(l.index, l.slots[i].key)
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
	l.slots[i] = memSlot{key: k}
	l.pushFront(i)
	l.index[k] = i
	return &l.slots[i].ev
}

// Add stores ev for k (see Entry).
func (l *memLRU) Add(k memKey, ev Evidence) { *l.Entry(k) = ev }

// Remove forgets k.
func (l *memLRU) Remove(k memKey) {
	i, ok := l.index[k]
	if !ok {
		return
	}
	delete(l.index, k)
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
