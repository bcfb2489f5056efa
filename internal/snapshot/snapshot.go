// Package snapshot frames and stores state snapshots (learned reputation,
// classifier counts) so that a truncated or corrupt file is refused whole
// instead of half-loaded, and a crash while saving never destroys the
// previous snapshot.
//
// A snapshot is: a magic line naming the kind and version, the payload, and
// a trailer holding the payload's length and CRC-32C. Encode writes one;
// Decode verifies everything before returning the payload. WriteFile saves
// atomically: a temporary file in the same folder, fsync, rename, fsync of
// the folder.
//
//	err := snapshot.WriteFile("state.snap", "reputation", 1, func(w io.Writer) error { ... })
//	payload, version, err := snapshot.ReadFile("state.snap", "reputation", 1<<30)
package snapshot

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Errors from Decode, ReadFile and Load.
var (
	ErrCorrupt   = errors.New("snapshot: corrupt or truncated")
	ErrWrongKind = errors.New("snapshot: not a snapshot of this kind")
	ErrTooLarge  = errors.New("snapshot: larger than the limit")
)

const (
	magic      = "mailscore-snapshot"
	trailerLen = 8 + 4 + 8 // payload length, CRC-32C, end marker
	endMarker  = "MSSNAPOK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode writes a snapshot of the given kind and version to w; payload
// writes the body.
func Encode(w io.Writer, kind string, version int, payload func(w io.Writer) error) error {
	if strings.ContainsAny(kind, " \n") || kind == "" {
		return fmt.Errorf("snapshot: invalid kind %q", kind)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := fmt.Fprintf(bw, "%s %s %d\n", magic, kind, version); err != nil {
		return err
	}
	cw := &countingCRC{w: bw}
	if err := payload(cw); err != nil {
		return fmt.Errorf("snapshot: writing %s payload: %w", kind, err)
	}
	var tr [trailerLen]byte
	binary.BigEndian.PutUint64(tr[0:8], uint64(cw.n))
	binary.BigEndian.PutUint32(tr[8:12], cw.crc)
	copy(tr[12:], endMarker)
	if _, err := bw.Write(tr[:]); err != nil {
		return err
	}
	return bw.Flush()
}

type countingCRC struct {
	w   io.Writer
	n   int64
	crc uint32
}

func (c *countingCRC) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
}

// Decode reads a whole snapshot from r (at most max bytes), checks its
// kind, length and checksum, and returns the payload and version. Nothing is
// returned unless everything checks out.
func Decode(r io.Reader, kind string, max int64) ([]byte, int, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot: reading: %w", err)
	}
	if int64(len(data)) > max {
		return nil, 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 256 {
		return nil, 0, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	fields := strings.Fields(string(data[:nl]))
	if len(fields) != 3 || fields[0] != magic {
		return nil, 0, fmt.Errorf("%w: bad header line", ErrCorrupt)
	}
	if fields[1] != kind {
		return nil, 0, fmt.Errorf("%w: file holds %q, want %q", ErrWrongKind, fields[1], kind)
	}
	version, err := strconv.Atoi(fields[2])
	if err != nil {
		return nil, 0, fmt.Errorf("%w: bad version %q", ErrCorrupt, fields[2])
	}
	body := data[nl+1:]
	if len(body) < trailerLen {
		return nil, 0, fmt.Errorf("%w: no trailer", ErrCorrupt)
	}
	payload, tr := body[:len(body)-trailerLen], body[len(body)-trailerLen:]
	if string(tr[12:]) != endMarker {
		return nil, 0, fmt.Errorf("%w: trailer missing (file cut short?)", ErrCorrupt)
	}
	if n := binary.BigEndian.Uint64(tr[0:8]); n != uint64(len(payload)) {
		return nil, 0, fmt.Errorf("%w: payload is %d bytes, trailer says %d", ErrCorrupt, len(payload), n)
	}
	if c := crc32.Checksum(payload, castagnoli); c != binary.BigEndian.Uint32(tr[8:12]) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, version, nil
}

// WriteFile saves a snapshot to path atomically: it writes a temporary file
// beside it, syncs it, renames it over path and syncs the folder. A crash at
// any point leaves either the old snapshot or the new one, never a mix.
func WriteFile(path, kind string, version int, payload func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = Encode(f, kind, version, payload); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("snapshot: sync: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("snapshot: close: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot: rename: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		// Make the rename itself durable; not every file system supports it.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ReadFile reads and verifies the snapshot at path.
func ReadFile(path, kind string, max int64) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	p, v, err := Decode(f, kind, max)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return p, v, nil
}
