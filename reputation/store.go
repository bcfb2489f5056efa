package reputation

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps Evidence by Key. The in-memory MemStore is the default; the
// interface is shaped so a networked store (Redis, say) can implement it
// without changing callers: every call takes a context, works on a batch
// of keys (one round trip per message), returns errors, and writes are
// "decay, then add" deltas, which a server can apply atomically (in Redis,
// one Lua script per batch) without the caller holding locks.
//
// Implementations must be safe for concurrent use and must not retain the
// slices they are given.
type Store interface {
	// Get stores in dst[i] the evidence held for keys[i], decayed to now
	// with d (Evidence.At), or the zero Evidence for a key it does not
	// hold. len(dst) must be at least len(keys).
	Get(ctx context.Context, now time.Time, d Decay, keys []Key, dst []Evidence) error
	// Update applies each update in order: the key's evidence is decayed
	// to now with d, then Delta is added (Evidence.Apply). If before is not
	// nil, before[i] receives the evidence updates[i].Key held just before
	// the delta was added, decayed to now. A batch should not name a key
	// twice.
	Update(ctx context.Context, now time.Time, d Decay, updates []Update, before []Evidence) error
	// Delete forgets keys (missing keys are not an error).
	Delete(ctx context.Context, keys []Key) error
}

// Update is one change to a key: the counts of Delta are added after the
// stored evidence is decayed to the update's time.
type Update struct {
	Key   Key
	Delta Evidence
}

// MemStoreOptions configure a MemStore. The zero value holds up to
// DefaultMaxKeys keys in 64 shards.
type MemStoreOptions struct {
	// MaxKeys bounds the keys held; beyond it the least recently used key
	// of a shard is forgotten. Default DefaultMaxKeys.
	MaxKeys int
	// Shards is the number of independently locked parts, rounded up to a
	// power of two; default 64.
	Shards int
	// MaxSnapshotSize bounds what Load and LoadFile read; default 4 GiB.
	MaxSnapshotSize int64
}

// DefaultMaxKeys is the default capacity of a MemStore (about 75 MB).
const DefaultMaxKeys = 1 << 20

// MemStore is the in-memory Store: sharded LRU caches of compact entries,
// with snapshot persistence (Save, Load, SaveFile, LoadFile). An entry is
// a 16-byte key and a 40-byte Evidence in a 64-byte slot, without
// pointers (about 75 bytes of heap with its hash index; see memLRU for why
// it is not golang-lru/v2): domain names, and the last
// 64 bits of single IPv6 addresses, are kept as SipHash-2-4 values under a
// random per-store secret (saved with the snapshot), so they cannot be
// listed back, only looked up; IPv4 addresses and IPv6 networks are kept
// exactly. It is safe for concurrent use.
type MemStore struct {
	opts  MemStoreOptions
	state atomic.Pointer[memState]
	// wrapSave, when set (tests only), wraps the payload writer of Save.
	wrapSave func(io.Writer) io.Writer
}

// memState is everything a Load replaces at once.
type memState struct {
	k0, k1 uint64 // SipHash key for domain names
	shards []memShard
	mask   uint64
}

type memShard struct {
	mu  sync.Mutex
	lru memLRU
	_   [40]byte // 128 bytes: keep shards on separate cache lines
}

// memKey is the compact form of a Key: 16 bytes, no pointers. The top 12
// bits of b are a tag (kind, family, prefix length); the rest is exact
// where it fits and a keyed hash where it does not:
//
//	IPv4 prefix:          a = 0,                 b = tag | address
//	IPv6 prefix <= /64:   a = first 64 bits,     b = tag
//	IPv6 prefix > /64:    a = first 64 bits,     b = tag | 52-bit hash of the last 64 bits
//	domain:               a = hash of the name,  b = tag
//	pair:                 a = hash of the name,  b = tag | network (IPv4 32 bits, IPv6 first 48)
//	co-domain:            a = hash of the first, b = tag | 52-bit hash of the second
type memKey struct{ a, b uint64 }

const (
	tagShift = 52
	lowMask  = 1<<tagShift - 1
)

// tag packs a key's kind, family and prefix length.
func tag(kind KeyKind, v6 bool, bits int) uint64 {
	return (uint64(kind)<<9 | b2u(v6)<<8 | uint64(bits)) << tagShift
}

// untag unpacks a tag.
func untag(b uint64) (kind KeyKind, v6 bool, bits int) {
	t := b >> tagShift
	return KeyKind(t >> 9), t>>8&1 == 1, int(t & 0xff)
}

// NewMemStore returns an empty in-memory store.
func NewMemStore(opts MemStoreOptions) *MemStore {
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Shards <= 0 {
		opts.Shards = 64
	}
	if opts.Shards > opts.MaxKeys {
		opts.Shards = opts.MaxKeys
	}
	opts.Shards = 1 << bits.Len(uint(opts.Shards-1))
	if opts.MaxSnapshotSize <= 0 {
		opts.MaxSnapshotSize = 4 << 30
	}
	s := &MemStore{opts: opts}
	var k [16]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	s.state.Store(s.newState(binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])))
	return s
}

func (s *MemStore) newState(k0, k1 uint64) *memState {
	n := s.opts.Shards
	per := (s.opts.MaxKeys + n - 1) / n
	st := &memState{k0: k0, k1: k1, shards: make([]memShard, n), mask: uint64(n - 1)}
	for i := range st.shards {
		st.shards[i].lru = newMemLRU(per)
	}
	return st
}

// compact turns a key into its memKey, or fails for an invalid key.
func (st *memState) compact(k Key) (memKey, error) {
	if err := k.Validate(); err != nil {
		return memKey{}, err
	}
	return st.compactValid(&k, nil), nil
}

// compactValid is compact for a key known to be valid. With sums, each
// domain name is hashed once however many keys name it.
func (st *memState) compactValid(k *Key, sums *nameSums) memKey {
	a := k.Prefix.Addr()
	bits := k.Prefix.Bits()
	switch k.Kind {
	case KindIP:
		if a.Is4() {
			a4 := a.As4()
			return memKey{b: tag(KindIP, false, bits) | uint64(binary.BigEndian.Uint32(a4[:]))}
		}
		a16 := a.As16()
		mk := memKey{a: binary.BigEndian.Uint64(a16[:8]), b: tag(KindIP, true, bits)}
		if bits > 64 {
			mk.b |= sipHash64(st.k0, st.k1, binary.BigEndian.Uint64(a16[8:])) & lowMask
		}
		return mk
	case KindDomain:
		return memKey{a: st.hashName(sums, k.Domain), b: tag(KindDomain, false, 0)}
	case KindPair:
		mk := memKey{a: st.hashName(sums, k.Domain)}
		if a.Is4() {
			a4 := a.As4()
			mk.b = tag(KindPair, false, bits) | uint64(binary.BigEndian.Uint32(a4[:]))
		} else {
			a16 := a.As16()
			mk.b = tag(KindPair, true, bits) | binary.BigEndian.Uint64(a16[:8])>>16
		}
		return mk
	}
	first, second, _ := strings.Cut(k.Domain, " ")
	return memKey{a: st.hashName(sums, first), b: tag(KindCoDomain, false, 0) | st.hashName(sums, second)&lowMask}
}

// nameSums remembers the SipHash of the domain names of one batch: the
// Checker's keys name each domain several times (its own key, its pair,
// its co-domain keys), and one hash serves them all.
type nameSums struct {
	n     int
	names [8]string
	sums  [8]uint64
}

// hashName returns the SipHash of a domain name, through sums when given.
func (st *memState) hashName(sums *nameSums, name string) uint64 {
	if sums == nil {
		return sipHash24(st.k0, st.k1, name)
	}
	for i := range sums.n {
		if sums.names[i] == name {
			return sums.sums[i]
		}
	}
	h := sipHash24(st.k0, st.k1, name)
	if sums.n < len(sums.names) {
		sums.names[sums.n], sums.sums[sums.n] = name, h
		sums.n++
	}
	return h
}

// canonical reports whether mk could have come from compact: a snapshot
// holding anything else is corrupt.
func (mk memKey) canonical() bool {
	kind, v6, bits := mk.tag()
	low := mk.b & lowMask
	switch kind {
	case KindIP:
		if !v6 {
			return mk.a == 0 && bits <= 32 && low < 1<<32 && low&(1<<(32-bits)-1) == 0
		}
		switch {
		case bits > 128:
			return false
		case bits > 64:
			return true
		case bits == 0:
			return mk.a == 0 && low == 0
		}
		return low == 0 && mk.a&(1<<(64-bits)-1) == 0
	case KindDomain:
		return !v6 && bits == 0 && low == 0
	case KindPair:
		if !v6 {
			return bits <= 32 && low < 1<<32 && low&(1<<(32-bits)-1) == 0
		}
		return bits <= 48 && low < 1<<48 && low&(1<<(48-bits)-1) == 0
	case KindCoDomain:
		return !v6 && bits == 0
	}
	return false
}

func (mk memKey) tag() (KeyKind, bool, int) { return untag(mk.b) }

// shard picks the shard of a key by mixing all its bits.
func (st *memState) shard(mk *memKey) *memShard {
	return &st.shards[keyHash(mk)&st.mask]
}

// Get implements Store.
func (s *MemStore) Get(_ context.Context, now time.Time, d Decay, keys []Key, dst []Evidence) error {
	if len(dst) < len(keys) {
		return fmt.Errorf("reputation: Get: %d keys but room for %d", len(keys), len(dst))
	}
	st := s.state.Load()
	d = d.resolved()
	z := newDecayer(unixSeconds(now), &d)
	var sums nameSums
	for i := range keys {
		if err := keys[i].Validate(); err != nil {
			return err
		}
		dst[i] = st.get(st.compactValid(&keys[i], &sums), &z)
	}
	return nil
}

// getValid is Get for valid keys, at Unix time t with a resolved Decay.
func (s *MemStore) getValid(t uint32, d Decay, keys []Key, dst []Evidence) {
	st := s.state.Load()
	z := newDecayer(t, &d)
	var sums nameSums
	for i := range keys {
		dst[i] = st.get(st.compactValid(&keys[i], &sums), &z)
	}
}

// get returns the evidence of mk decayed with z.
func (st *memState) get(mk memKey, z *decayer) Evidence {
	sh := st.shard(&mk)
	sh.mu.Lock()
	ev, _ := sh.lru.Get(mk)
	sh.mu.Unlock()
	z.decay(&ev)
	return ev
}

// Update implements Store.
func (s *MemStore) Update(_ context.Context, now time.Time, d Decay, updates []Update, before []Evidence) error {
	if before != nil && len(before) < len(updates) {
		return fmt.Errorf("reputation: Update: %d updates but room for %d", len(updates), len(before))
	}
	st := s.state.Load()
	t := unixSeconds(now)
	d = d.resolved()
	z := newDecayer(t, &d)
	var sums nameSums
	for i := range updates {
		if err := updates[i].Key.Validate(); err != nil {
			return err
		}
		var b *Evidence
		if before != nil {
			b = &before[i]
		}
		st.update(st.compactValid(&updates[i].Key, &sums), &z, &updates[i].Delta, b)
	}
	return nil
}

// addValid is Update for valid keys that all get the same delta, at Unix
// time t with a resolved Decay.
func (s *MemStore) addValid(t uint32, d Decay, keys []Key, delta Evidence, before []Evidence) {
	st := s.state.Load()
	z := newDecayer(t, &d)
	var sums nameSums
	for i := range keys {
		var b *Evidence
		if before != nil {
			b = &before[i]
		}
		st.update(st.compactValid(&keys[i], &sums), &z, &delta, b)
	}
}

// update decays the evidence of mk with z, stores it in before (if not
// nil), and adds delta.
func (st *memState) update(mk memKey, z *decayer, delta, before *Evidence) {
	sh := st.shard(&mk)
	sh.mu.Lock()
	ev := sh.lru.Entry(mk)
	z.decay(ev)
	if before != nil {
		*before = *ev
	}
	ev.add(z.now, delta)
	sh.mu.Unlock()
}

// Delete implements Store.
func (s *MemStore) Delete(_ context.Context, keys []Key) error {
	st := s.state.Load()
	for _, k := range keys {
		mk, err := st.compact(k)
		if err != nil {
			return err
		}
		sh := st.shard(&mk)
		sh.mu.Lock()
		sh.lru.Remove(mk)
		sh.mu.Unlock()
	}
	return nil
}

// Len returns the number of keys held.
func (s *MemStore) Len() int {
	st := s.state.Load()
	n := 0
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		n += sh.lru.Len()
		sh.mu.Unlock()
	}
	return n
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012) of m under the key (k0, k1): a keyed hash, so
// nobody without the key can make two domains collide.
func sipHash24(k0, k1 uint64, m string) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	b := uint64(len(m)) << 56
	for len(m) >= 8 {
		w := uint64(m[0]) | uint64(m[1])<<8 | uint64(m[2])<<16 | uint64(m[3])<<24 |
			uint64(m[4])<<32 | uint64(m[5])<<40 | uint64(m[6])<<48 | uint64(m[7])<<56
		v3 ^= w
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= w
		m = m[8:]
	}
	for i := len(m) - 1; i >= 0; i-- {
		b |= uint64(m[i]) << (8 * i)
	}
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return v0 ^ v1 ^ v2 ^ v3
}

// sipHash64 is sipHash24 of the 8 little-endian bytes of x.
func sipHash64(k0, k1, x uint64) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	v3 ^= x
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= x
	b := uint64(8) << 56
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return v0 ^ v1 ^ v2 ^ v3
}

// sipRound is one SipRound.
func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
