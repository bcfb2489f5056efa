package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// Problems with message data that are answered with a reply (the
// session goes on, or for bare LF is closed); I/O errors end the session.
var (
	errTooBig   = errors.New("message exceeds the size limit")
	errLongLine = errors.New("message has a line over the length limit")
	errBareLF   = errors.New("bare LF in message data")
)

// dataReader reads the message data that follows DATA's 354 reply.
type dataReader struct {
	r        *bufio.Reader
	maxSize  int64  // octets of the message after dot-unstuffing
	maxLine  int    // octets of one line, line break excluded
	allowLF  bool   // keep bare LFs as data instead of refusing the message
	deadline func() // called before every read to move the read deadline

	tooBig, longLine bool
}

// read reads up to and including the end-of-data line and returns the
// message with dot-stuffing undone (RFC 5321 section 4.5.2) and line
// breaks as they came.
//
// Only <CRLF>.<CRLF> ends the data (RFC 5321 section 4.1.1.4): a line
// is a run of octets ended by CRLF, and a "." line after a bare LF (or
// ".<LF>") is data, never the end, so no "SMTP smuggling" of a second
// message through a different reading of line ends is possible. RFC 5321
// section 2.3.8 allows only CRLF as a line break; a bare LF makes read
// return errBareLF at once unless allowLF is set, in which case it is kept
// as data (and mailscore.Message reads such lines). A bare CR has no
// meaning to the data protocol and is kept.
//
// A message over maxSize or with a line over maxLine is read to its end
// and discarded: read then returns errTooBig or errLongLine. Any other
// error is an I/O error (io.ErrUnexpectedEOF for a connection that ends
// within the data).
func (d *dataReader) read() ([]byte, error) {
	var msg []byte
	lineStart := true // the next octet starts a line (after CRLF)
	lineLen := 0      // octets of the current line so far
	prevCR := false   // the last octet of the previous chunk was CR
	for {
		d.deadline()
		chunk, err := d.r.ReadSlice('\n')
		full := err == nil
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if lineStart {
			// RFC 5321 section 4.5.2: a line of a single "." ends the
			// data; a leading "." of any other line is removed.
			if full && len(chunk) == 3 && chunk[0] == '.' && chunk[1] == '\r' {
				break
			}
			if len(chunk) > 0 && chunk[0] == '.' {
				chunk = chunk[1:]
			}
			lineLen = 0
		}
		crlf := false
		if full {
			crlf = len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' || len(chunk) == 1 && prevCR
			if !crlf && !d.allowLF {
				return nil, errBareLF
			}
			lineLen += len(chunk) - 1
			if crlf {
				lineLen--
			}
		} else {
			lineLen += len(chunk)
		}
		if lineLen > d.maxLine {
			d.longLine = true
		}
		if !d.tooBig && int64(len(msg))+int64(len(chunk)) > d.maxSize {
			d.tooBig = true
		}
		if d.tooBig || d.longLine {
			msg = nil // read on to the end, keeping nothing
		} else {
			msg = growAppend(msg, chunk, d.maxSize)
		}
		prevCR = len(chunk) > 0 && chunk[len(chunk)-1] == '\r'
		lineStart = crlf
	}
	switch {
	case d.tooBig:
		return nil, errTooBig
	case d.longLine:
		return nil, errLongLine
	}
	return msg, nil
}

// growAppend appends chunk to msg, growing the buffer geometrically but
// never past limit octets of capacity.
func growAppend(msg, chunk []byte, limit int64) []byte {
	need := len(msg) + len(chunk)
	if need > cap(msg) {
		c := int64(max(2*cap(msg), need, 4096))
		c = min(c, max(limit, int64(need)))
		n := make([]byte, len(msg), c)
		copy(n, msg)
		msg = n
	}
	return append(msg, chunk...)
}

// deadlineEvery returns a function that moves c's read deadline to
// timeout from now, at most once a second (a deadline per line of a large
// message would be needless work), and never past the end of the whole
// DATA phase, stop.
func deadlineEvery(set func(time.Time) error, timeout time.Duration, stop time.Time) func() {
	var last time.Time
	return func() {
		now := time.Now()
		if now.Sub(last) < time.Second {
			return
		}
		last = now
		d := now.Add(timeout)
		if d.After(stop) {
			d = stop
		}
		_ = set(d)
	}
}

// dataProblem turns a data error into the reply for it.
func dataProblem(err error, maxSize int64, maxLine int) (code int, enh, text string) {
	switch {
	case errors.Is(err, errTooBig):
		// RFC 1870 section 6.
		return 552, "5.3.4", fmt.Sprintf("Message size exceeds fixed maximum message size (%d octets)", maxSize)
	case errors.Is(err, errLongLine):
		return 552, "5.3.4", fmt.Sprintf("Message has a line longer than %d octets", maxLine)
	case errors.Is(err, errBareLF):
		return 554, "5.5.2", "Bare LF received: lines must end in CRLF (RFC 5321 section 2.3.8); closing connection"
	}
	return 451, "4.3.0", "Error reading message data"
}
