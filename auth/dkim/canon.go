package dkim

import (
	"bytes"
	"hash"
)

// hashBuf batches small writes to a hash: canonicalization emits bytes and
// short runs, and a hash.Hash call per byte would cost more than the
// hashing. Long runs go to the hash directly, without a copy.
type hashBuf struct {
	h   hash.Hash
	n   int
	buf [2048]byte
}

func (w *hashBuf) flush() {
	if w.n > 0 {
		w.h.Write(w.buf[:w.n])
		w.n = 0
	}
}

func (w *hashBuf) writeByte(c byte) {
	if w.n == len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = c
	w.n++
}

func (w *hashBuf) write(p []byte) {
	if len(p) > 256 {
		w.flush()
		w.h.Write(p)
		return
	}
	if w.n+len(p) > len(w.buf) {
		w.flush()
	}
	w.n += copy(w.buf[w.n:], p)
}

// writeCRLF writes a line break.
func (w *hashBuf) writeCRLF() {
	if len(w.buf)-w.n < 2 {
		w.flush()
	}
	w.buf[w.n], w.buf[w.n+1] = '\r', '\n'
	w.n += 2
}

// writeSimpleHeader writes a header field canonicalized with "simple"
// (RFC 6376 section 3.4.1): unchanged, except that bare LF line breaks
// are written as CRLF (the message was stored with LF endings) and a
// final line break is added if missing. With trailing false the final line
// break is left out (for the signature field itself, section 3.7).
func writeSimpleHeader(w *hashBuf, raw []byte, trailing bool) {
	// Drop the final line break; it is written back below as CRLF.
	if n := len(raw); n > 0 && raw[n-1] == '\n' {
		raw = raw[:n-1]
		if n := len(raw); n > 0 && raw[n-1] == '\r' {
			raw = raw[:n-1]
		}
	}
	for {
		j := bytes.IndexByte(raw, '\n')
		if j < 0 {
			w.write(raw)
			break
		}
		if j > 0 && raw[j-1] == '\r' {
			w.write(raw[:j+1])
		} else {
			w.write(raw[:j])
			w.writeCRLF()
		}
		raw = raw[j+1:]
	}
	if trailing {
		w.writeCRLF()
	}
}

// relaxedValue canonicalizes header field value text with "relaxed" (RFC
// 6376 section 3.4.2): line breaks removed (unfolding), runs of WSP
// reduced to one SP, WSP at the start and end removed. It can be fed the
// value in pieces; the state carries across them.
type relaxedValue struct {
	w       *hashBuf
	started bool // a non-WSP octet was written
	space   bool // WSP seen since the last octet written
}

func (r *relaxedValue) write(s []byte) {
	w := r.w
	for len(s) > 0 {
		// The output of a chunk is at most one octet longer than the
		// chunk (a space held back from before it), so write straight
		// into the buffer.
		if len(w.buf)-w.n < 2 {
			w.flush()
		}
		chunk := s[:min(len(s), len(w.buf)-w.n-1)]
		s = s[len(chunk):]
		buf := w.buf[w.n:]
		n := 0
		for _, c := range chunk {
			if c <= ' ' {
				switch c {
				case ' ', '\t':
					r.space = true
					continue
				case '\r', '\n':
					// Unfolding removes line breaks; the WSP after one
					// is reduced like any other.
					continue
				}
			}
			if r.space {
				if r.started {
					buf[n] = ' '
					n++
				}
				r.space = false
			}
			r.started = true
			buf[n] = c
			n++
		}
		w.n += n
	}
}

// writeRelaxedName writes a field name lower-cased, then the colon.
func writeRelaxedName(w *hashBuf, name string) {
	if len(w.buf)-w.n < len(name)+1 {
		w.flush()
		if len(name)+1 > len(w.buf) { // not for names within limits
			for i := 0; i < len(name); i++ {
				w.writeByte(lower(name[i]))
			}
			w.writeByte(':')
			return
		}
	}
	buf := w.buf[w.n : w.n+len(name)+1]
	for i := 0; i < len(name); i++ {
		buf[i] = lower(name[i])
	}
	buf[len(name)] = ':'
	w.n += len(name) + 1
}

// writeRelaxedHeader writes a whole field canonicalized with "relaxed",
// with its CRLF when trailing is set. raw is the field as written; value
// is the part after the colon.
func writeRelaxedHeader(w *hashBuf, name string, value []byte, trailing bool) {
	writeRelaxedName(w, name)
	rv := relaxedValue{w: w}
	rv.write(value)
	if trailing {
		w.writeCRLF()
	}
}

// bodyCanon canonicalizes a body as it streams (RFC 6376 sections 3.4.3
// and 3.4.4) and hashes the first limit octets of the result, counting
// them all. Bare LF line breaks are taken as CRLF.
//
// Lines are written as they end, with their CRLF; empty lines are held
// back (pendingEmpty) until a line with content follows, because empty
// lines at the end of the body are not part of the canonical form. Whole
// lines that canonicalize to themselves, the usual case, are written
// straight from the input, many at once.
type bodyCanon struct {
	relaxed bool
	w       *hashBuf
	limit   int64 // octets to hash; -1 for all
	total   int64 // canonical octets produced

	emitted      bool // something was produced
	lineContent  bool // the current line has produced content
	pendingSpace bool // relaxed: WSP seen and not yet written
	pendingCR    bool // the input ended with a CR that may start a CRLF
	pendingEmpty int  // empty lines held back
}

func (c *bodyCanon) reset(w *hashBuf, relaxed bool, limit int64) {
	*c = bodyCanon{w: w, relaxed: relaxed, limit: limit}
}

// out passes canonical octets to the hash, up to the limit.
func (c *bodyCanon) out(p []byte) {
	c.emitted = true
	if c.limit >= 0 {
		rem := c.limit - c.total
		if rem <= 0 {
			c.total += int64(len(p))
			return
		}
		if int64(len(p)) > rem {
			c.w.write(p[:rem])
			c.total += int64(len(p))
			return
		}
	}
	c.total += int64(len(p))
	c.w.write(p)
}

// outCRLF passes a line break to the hash, up to the limit.
func (c *bodyCanon) outCRLF() {
	c.emitted = true
	switch {
	case c.limit < 0 || c.total+2 <= c.limit:
		c.w.writeCRLF()
	case c.total < c.limit:
		c.w.writeByte('\r')
	}
	c.total += 2
}

func (c *bodyCanon) outByte(b byte) {
	c.emitted = true
	if c.limit < 0 || c.total < c.limit {
		c.w.writeByte(b)
	}
	c.total++
}

// Write implements io.Writer; it never fails.
func (c *bodyCanon) Write(p []byte) (int, error) {
	// Positions of the next TAB and "  " in p, found lazily and only again
	// once passed, so that a body with many irregular lines is not scanned
	// over and over: -2 unknown, -1 none.
	sc := spaceScan{tab: -2, dbl: -2}
	i := 0
	for i < len(p) {
		if !c.lineContent && !c.pendingCR && !c.pendingSpace {
			// At the start of a line: an empty line is held back; a run
			// of clean lines goes out as it is, after the empty lines
			// before it.
			if p[i] == '\r' && i+1 < len(p) && p[i+1] == '\n' {
				c.pendingEmpty++
				i += 2
				continue
			}
			if end := c.cleanLines(p, i, &sc); end > i {
				for ; c.pendingEmpty > 0; c.pendingEmpty-- {
					c.outCRLF()
				}
				c.out(p[i:end])
				i = end
				continue
			}
		}
		i = c.slowLine(p, i)
	}
	return len(p), nil
}

type spaceScan struct{ tab, dbl int }

// cleanLines returns the end of the run of whole lines from p[i:] that
// canonicalize to themselves: non-empty, ending in CRLF, and for relaxed
// without TAB, without two WSP in a row and without WSP before the CRLF.
func (c *bodyCanon) cleanLines(p []byte, i int, sc *spaceScan) int {
	if c.relaxed {
		if sc.tab == -2 || sc.tab >= 0 && sc.tab < i {
			sc.tab = -1
			if j := bytes.IndexByte(p[i:], '\t'); j >= 0 {
				sc.tab = i + j
			}
		}
		if sc.dbl == -2 || sc.dbl >= 0 && sc.dbl < i {
			sc.dbl = indexDoubleSpace(p, i)
		}
	}
	end := i
	for end < len(p) {
		j := bytes.IndexByte(p[end:], '\n')
		if j < 2 || p[end+j-1] != '\r' {
			break // partial line, empty line ("\r\n"), or bare LF
		}
		nl := end + j // the LF
		if c.relaxed {
			if b := p[nl-2]; b == ' ' || b == '\t' {
				break
			}
			if sc.tab >= 0 && sc.tab < nl || sc.dbl >= 0 && sc.dbl < nl {
				break
			}
		}
		end = nl + 1
	}
	return end
}

// indexDoubleSpace returns the index of the first "  " in p at or after i,
// or -1. It searches 64 octets at a time: bytes.Index takes its vector
// path at once on such short inputs, where on long prose it first tries
// IndexByte at every space.
func indexDoubleSpace(p []byte, i int) int {
	for ; i < len(p)-1; i += 63 {
		if j := bytes.Index(p[i:min(i+64, len(p))], []byte("  ")); j >= 0 {
			return i + j
		}
	}
	return -1
}

// slowLine canonicalizes octet by octet from p[i] to the end of the line
// (just after its LF) or of p, and returns where it stopped.
func (c *bodyCanon) slowLine(p []byte, i int) int {
	for ; i < len(p); i++ {
		b := p[i]
		if c.pendingCR {
			c.pendingCR = false
			if b == '\n' {
				c.endLine()
				return i + 1
			}
			c.content('\r') // a CR not followed by LF is content
		}
		switch b {
		case '\r':
			c.pendingCR = true
		case '\n': // bare LF
			c.endLine()
			return i + 1
		case ' ', '\t':
			if c.relaxed {
				c.pendingSpace = true
			} else {
				c.content(b)
			}
		default:
			c.content(b)
		}
	}
	return i
}

// content writes one octet of line content, after any empty lines held
// back and the reduced WSP before it.
func (c *bodyCanon) content(b byte) {
	if !c.lineContent {
		for ; c.pendingEmpty > 0; c.pendingEmpty-- {
			c.outCRLF()
		}
		c.lineContent = true
	}
	if c.pendingSpace {
		c.pendingSpace = false
		c.outByte(' ')
	}
	c.outByte(b)
}

func (c *bodyCanon) endLine() {
	if c.lineContent {
		c.outCRLF()
	} else {
		c.pendingEmpty++
	}
	c.lineContent = false
	c.pendingSpace = false
}

// finish ends the body: a last line without a line break gets one; empty
// lines at the end are dropped; an empty body is CRLF with "simple" and
// nothing with "relaxed" (RFC 6376 sections 3.4.3, 3.4.4).
func (c *bodyCanon) finish() {
	if c.pendingCR {
		c.pendingCR = false
		c.content('\r')
	}
	if c.lineContent {
		c.outCRLF()
		c.lineContent = false
	}
	if !c.relaxed && !c.emitted {
		c.outCRLF()
	}
	c.w.flush()
}
