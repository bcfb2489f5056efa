package main

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readAll runs a dataReader over in with a bufio buffer of the given size
// (16, the smallest, splits lines into many chunks) and returns the
// message, the error and what is left unread.
func readAll(in string, bufSize int, maxSize int64, maxLine int, allowLF bool) (msg []byte, rest string, err error) {
	r := bufio.NewReaderSize(strings.NewReader(in), bufSize)
	d := dataReader{r: r, maxSize: maxSize, maxLine: maxLine, allowLF: allowLF, deadline: func() {}}
	msg, err = d.read()
	left, _ := io.ReadAll(r)
	return msg, string(left), err
}

func TestDataReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		in      string
		maxSize int64
		maxLine int
		allowLF bool
		want    string
		err     error
		rest    string
	}{
		{name: "simple", in: "Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n", want: "Subject: a\r\n\r\nbody\r\n", rest: "QUIT\r\n"},
		{name: "empty", in: ".\r\n", want: ""},
		{name: "dot-stuffing undone", in: "a\r\n..b\r\n.\r\n.\r\n", want: "a\r\n.b\r\n", rest: ".\r\n"},
		{name: "leading dot of a line removed", in: ".x\r\n..\r\n.\r\n", want: "x\r\n.\r\n"},
		{name: "dot mid-line kept", in: "a.b\r\n a .\r\n.\r\n", want: "a.b\r\n a .\r\n"},
		{name: "long line split over chunks", in: long + "\r\n" + "." + long + "\r\n.\r\n", want: long + "\r\n" + long + "\r\n"},
		{name: "bare CR is data", in: "a\rb\r\n.\r\n", want: "a\rb\r\n"},
		{name: "CR.CR is not the end", in: "a\r.\rb\r\n.\r\n", want: "a\r.\rb\r\n"},
		{name: "bare LF refused", in: "a\nb\r\n.\r\n", err: errBareLF},
		{name: "LF.LF never ends the data", in: "a\r\n.\n", err: errBareLF},
		{name: "bare LF kept", in: "a\nb\r\n.\r\n", allowLF: true, want: "a\nb\r\n"},
		// SMTP smuggling: with bare LF allowed, <LF>.<CRLF> and
		// <LF>.<LF> are data; only <CRLF>.<CRLF> ends the message.
		{name: "smuggling LF.CRLF", in: "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", allowLF: true, want: "a\n.\r\nMAIL FROM:<x@y>\r\n"},
		{name: "smuggling LF.LF", in: "a\r\n.\nMAIL\r\n.\r\n", allowLF: true, want: "a\r\n\nMAIL\r\n"},
		{name: "too big", in: long + "\r\n" + long + "\r\n.\r\nNOOP\r\n", maxSize: 150, err: errTooBig, rest: "NOOP\r\n"},
		{name: "exactly the size", in: long + "\r\n.\r\n", maxSize: 102, want: long + "\r\n"},
		{name: "line too long", in: "ok\r\n" + long + "x\r\n.\r\nNOOP\r\n", maxLine: 100, err: errLongLine, rest: "NOOP\r\n"},
		{name: "line at the limit", in: long + "\r\n.\r\n", maxLine: 100, want: long + "\r\n"},
		{name: "eof inside data", in: "a\r\nb", err: io.ErrUnexpectedEOF},
		{name: "eof after dot without CRLF", in: "a\r\n.", err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 4096} {
			maxSize, maxLine := tt.maxSize, tt.maxLine
			if maxSize == 0 {
				maxSize = 1 << 20
			}
			if maxLine == 0 {
				maxLine = 1000
			}
			msg, rest, err := readAll(tt.in, size, maxSize, maxLine, tt.allowLF)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err, "%s (buffer %d)", tt.name, size)
				if tt.rest != "" {
					require.Equal(t, tt.rest, rest, "%s: the reader stops after the end of data", tt.name)
				}
				continue
			}
			require.NoError(t, err, "%s (buffer %d)", tt.name, size)
			require.Equal(t, tt.want, string(msg), "%s (buffer %d)", tt.name, size)
			require.Equal(t, tt.rest, rest, tt.name)
		}
	}
}

// FuzzDataReader checks that the data reader never panics, never returns
// more than the limit, and that dot-stuffing round-trips: what a client
// stuffs, the reader gives back.
func FuzzDataReader(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.hello\r\n..\r\n"), false)
	f.Add([]byte("a\nb\r\n.\n\r\n"), true)
	f.Add([]byte("\r\r\n.\r\r\n"), false)
	f.Fuzz(func(t *testing.T, msg []byte, allowLF bool) {
		// Any input as it comes off the wire.
		_, _, _ = readAll(string(msg), 16, 64, 32, allowLF)

		// A message with CRLF line ends (NUL stands for CRLF here),
		// stuffed as a client does.
		if bytes.ContainsAny(msg, "\r\n") {
			return
		}
		text := strings.ReplaceAll(string(msg), "\x00", "\r\n")
		if text != "" && !strings.HasSuffix(text, "\r\n") {
			text += "\r\n"
		}
		var wire strings.Builder
		for _, line := range strings.SplitAfter(text, "\r\n") {
			if strings.HasPrefix(line, ".") {
				wire.WriteByte('.')
			}
			wire.WriteString(line)
		}
		wire.WriteString(".\r\n")
		got, rest, err := readAll(wire.String(), 16, 1<<20, 1<<20, false)
		if err != nil {
			t.Fatalf("%q: %v", wire.String(), err)
		}
		if string(got) != text || rest != "" {
			t.Fatalf("round trip of %q gave %q (rest %q)", text, got, rest)
		}
	})
}

func BenchmarkDataReader(b *testing.B) {
	var in strings.Builder
	for i := range 20000 {
		if i%10 == 0 {
			in.WriteString(".")
		}
		in.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n")
	}
	in.WriteString(".\r\n")
	wire := in.String()
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		r := bufio.NewReaderSize(strings.NewReader(wire), 4096)
		d := dataReader{r: r, maxSize: 25 << 20, maxLine: 1000, deadline: func() {}}
		if _, err := d.read(); err != nil {
			b.Fatal(err)
		}
	}
}
