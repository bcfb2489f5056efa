package reputation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/mailscore/mailscore/internal/snapshot"
)

// Snapshot kind and version written by Save.
const (
	snapshotKind    = "reputation"
	snapshotVersion = 1
)

// ErrCorruptSnapshot is matched by the errors for snapshots that are cut
// short, fail their checksum or hold impossible records. Nothing of such a
// snapshot is loaded.
var ErrCorruptSnapshot = snapshot.ErrCorrupt

// ErrSnapshotVersion is matched when a snapshot has a version this package
// cannot read.
var ErrSnapshotVersion = errors.New("reputation: unsupported snapshot version")

// Record layout (little-endian), after a 16-byte SipHash key: the
// compact key (memKey.a, memKey.b), then the Evidence: 8 float32 counts
// (HamUser, HamVerdict, SpamUser, SpamTrap, SpamVerdict, Seen, Recent,
// Tenants) and 2 uint32 times (First, Last). 56 bytes.
const (
	evidenceLen = 8*4 + 2*4
	recordLen   = 16 + evidenceLen
)

func appendRecord(b []byte, k *memKey, e *Evidence) []byte {
	b = binary.LittleEndian.AppendUint64(b, k.a)
	b = binary.LittleEndian.AppendUint64(b, k.b)
	for _, v := range [...]float32{e.HamUser, e.HamVerdict, e.SpamUser, e.SpamTrap, e.SpamVerdict, e.Seen, e.Recent, e.Tenants} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, e.First)
	return binary.LittleEndian.AppendUint32(b, e.Last)
}

// Save writes a snapshot of the store to w: framed with a length and a
// CRC-32C (internal/snapshot) so that Load refuses a damaged copy. Each
// shard is copied under its lock, least recently used first, so that
// loading into a smaller store keeps the most recently used keys. Updates
// made while Save runs may or may not be included.
func (s *MemStore) Save(w io.Writer) error {
	return snapshot.Encode(w, snapshotKind, snapshotVersion, s.writePayload)
}

// SaveFile writes a snapshot to path atomically (a temporary file beside
// it, fsync, rename): a crash leaves the previous snapshot or the new one,
// never a mix.
func (s *MemStore) SaveFile(path string) error {
	return snapshot.WriteFile(path, snapshotKind, snapshotVersion, s.writePayload)
}

func (s *MemStore) writePayload(w io.Writer) error {
	if s.wrapSave != nil {
		w = s.wrapSave(w)
	}
	st := s.state.Load()
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:8], st.k0)
	binary.LittleEndian.PutUint64(hdr[8:], st.k1)
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	var buf []byte
	for i := range st.shards {
		sh := &st.shards[i]
		buf = buf[:0]
		sh.mu.Lock()
		sh.lru.oldestFirst(func(k *memKey, e *Evidence) { buf = appendRecord(buf, k, e) })
		sh.mu.Unlock()
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// Load replaces the store's contents with the snapshot read from r. The
// snapshot is checked whole (frame, checksum, every record) before
// anything changes: a truncated or corrupt snapshot is refused with an
// error matching ErrCorruptSnapshot and the store is left as it was.
func (s *MemStore) Load(r io.Reader) error {
	payload, version, err := snapshot.Decode(r, snapshotKind, s.opts.MaxSnapshotSize)
	if err != nil {
		return fmt.Errorf("reputation: load: %w", err)
	}
	return s.loadPayload(payload, version)
}

// LoadFile replaces the store's contents with the snapshot at path (see
// Load). A missing file gives an error matching fs.ErrNotExist.
func (s *MemStore) LoadFile(path string) error {
	payload, version, err := snapshot.ReadFile(path, snapshotKind, s.opts.MaxSnapshotSize)
	if err != nil {
		return fmt.Errorf("reputation: load: %w", err)
	}
	return s.loadPayload(payload, version)
}

func (s *MemStore) loadPayload(p []byte, version int) error {
	if version != snapshotVersion {
		return fmt.Errorf("%w: %d (this package reads %d)", ErrSnapshotVersion, version, snapshotVersion)
	}
	st, err := s.decodePayload(p)
	if err != nil {
		return fmt.Errorf("reputation: load: %w", err)
	}
	s.state.Store(st)
	return nil
}

// decodePayload parses every record into a new state, refusing anything
// a Save could not have written.
func (s *MemStore) decodePayload(p []byte) (*memState, error) {
	if len(p) < 16 {
		return nil, fmt.Errorf("%w: no header", ErrCorruptSnapshot)
	}
	st := s.newState(binary.LittleEndian.Uint64(p[:8]), binary.LittleEndian.Uint64(p[8:16]))
	if (len(p)-16)%recordLen != 0 {
		return nil, fmt.Errorf("%w: %d bytes of records is not a whole number of %d-byte records", ErrCorruptSnapshot, len(p)-16, recordLen)
	}
	for off := 16; off < len(p); off += recordLen {
		k, e, err := readRecord(p[off : off+recordLen])
		if err != nil {
			return nil, fmt.Errorf("%w: record at byte %d: %v", ErrCorruptSnapshot, off, err)
		}
		sh := st.shard(&k)
		if sh.lru.Contains(k) {
			return nil, fmt.Errorf("%w: record at byte %d: a key seen before", ErrCorruptSnapshot, off)
		}
		sh.lru.Add(k, e) // no lock: st is not shared yet
	}
	return st, nil
}

func readRecord(p []byte) (memKey, Evidence, error) {
	k := memKey{a: binary.LittleEndian.Uint64(p), b: binary.LittleEndian.Uint64(p[8:])}
	if !k.canonical() {
		kind, v6, bits := k.tag()
		return k, Evidence{}, fmt.Errorf("impossible key (kind %d, IPv6 %v, /%d)", kind, v6, bits)
	}
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(p[16+4*i:])) }
	e := Evidence{
		HamUser: f(0), HamVerdict: f(1), SpamUser: f(2), SpamTrap: f(3), SpamVerdict: f(4),
		Seen: f(5), Recent: f(6), Tenants: f(7),
		First: binary.LittleEndian.Uint32(p[48:]), Last: binary.LittleEndian.Uint32(p[52:]),
	}
	if !e.valid() {
		return k, e, errors.New("impossible counts or times")
	}
	return k, e, nil
}
