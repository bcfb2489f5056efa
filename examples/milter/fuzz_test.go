package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/servetest"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// fuzzSeeds are packet streams as an MTA sends them.
func fuzzSeeds() [][]byte {
	neg := packet(cmdOptNeg, be32(6, postfixActions, postfixProto))
	msg := bytes.Join([][]byte{
		neg,
		packet(cmdMacro, []byte{cmdConnect}, z("j", "mx", "{daemon_name}", "smtpd")),
		packet(cmdConnect, connectInet("h.example", '4', 25, "192.0.2.1")),
		packet(cmdHelo, z("h.example")),
		packet(cmdMail, z("<a@b.example>", "SIZE=10")),
		packet(cmdRcpt, z("<c@d.example>")),
		packet(cmdHeader, z("Subject", " hi\n\tthere")),
		packet(cmdHeader, z("X-Mailscore", " forged")),
		packet(cmdEOH),
		packet(cmdBody, []byte("hello\r\n")),
		packet(cmdEOB),
		packet(cmdAbort),
		packet(cmdQuitNC),
		packet(cmdConnect, connectInet("v6", '6', 25, "IPv6:2001:db8::1")),
		packet(cmdQuit),
	}, nil)
	old := bytes.Join([][]byte{
		packet(cmdOptNeg, be32(2, 0x3f, 0x7f)),
		packet(cmdConnect, connectInet("u", 'U', 0, "")),
		packet(cmdMail, z("<>")),
		packet(cmdBody, bytes.Repeat([]byte("x"), 300)),
		packet(cmdEOB, []byte("tail")),
	}, nil)
	return [][]byte{msg, old, {0, 0, 0, 0}, be32(1 << 30)}
}

// FuzzPackets checks that no byte stream makes the packet reader or the
// decoders panic, and that they hold to their limits.
func FuzzPackets(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		var buf []byte
		for range 1000 {
			cmd, data, nbuf, err := readPacket(r, buf, 4096)
			buf = nbuf
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errPacket) && !errors.Is(err, errPacketTooLarge) {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if len(data) >= 4096 {
				t.Fatalf("packet of %d octets past the limit", len(data)+1)
			}
			_, _ = decodeOptNeg(data)
			if ci, err := decodeConnect(data); err == nil && (ci.family == '4' || ci.family == '6') && !ci.addr.IsValid() {
				t.Fatalf("connect %q decoded without an address", data)
			}
			_, _, _ = decodeHeader(data)
			if _, pairs, err := decodeMacros(data, 8); err == nil && len(pairs) > 8 {
				t.Fatalf("%d macros past the limit", len(pairs))
			}
			if len(strs(data, 5)) > 5 {
				t.Fatal("strs past its limit")
			}
			_ = cmd
		}
	})
}

// FuzzSession plays an arbitrary packet stream against a session: the
// filter must not panic or hang.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	e, err := mailscore.NewEngine(mailscore.EngineOptions{})
	if err != nil {
		f.Fatal(err)
	}
	m, err := New(Options{Setup: &wiring.Setup{Engine: e}, MaxSize: 2048, MaxHeaders: 10, MaxRecipients: 3,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		servetest.PlaySession(t, m.session, in)
	})
}

func BenchmarkReadPacket(b *testing.B) {
	stream := bytes.Repeat(packet(cmdBody, bytes.Repeat([]byte("body line\r\n"), 5900)), 16)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var buf []byte
	src := bytes.NewReader(stream)
	r := bufio.NewReaderSize(src, 64<<10)
	for b.Loop() {
		src.Reset(stream)
		r.Reset(src)
		for {
			_, _, nbuf, err := readPacket(r, buf, maxPacket)
			buf = nbuf
			if err != nil {
				break
			}
		}
	}
}
