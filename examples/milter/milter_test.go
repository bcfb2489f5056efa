package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/servetest"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

const authservID = "mx.test"

// sharedSetup is the engine the program uses, with -offline, built once.
var sharedSetup = sync.OnceValue(func() *wiring.Setup { return servetest.OfflineSetup(authservID) })

// startMilter serves a Milter on 127.0.0.1:0 until the test ends.
func startMilter(t *testing.T, mod func(*Options)) string {
	t.Helper()
	opts := Options{Setup: sharedSetup(), AuthservID: authservID, Grace: 2 * time.Second,
		Logger: servetest.Logger(t)}
	if mod != nil {
		mod(&opts)
	}
	m, err := New(opts)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("milter did not stop")
		}
	})
	return ln.Addr().String()
}

// mta is the MTA's side of a milter connection, written from the
// protocol description: it sends packets and reads replies.
type mta struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialMTA(t *testing.T, addr string) *mta {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &mta{t: t, c: c, r: bufio.NewReader(c)}
}

// packet encodes a packet: length, command, data.
func packet(cmd byte, data ...[]byte) []byte {
	body := append([]byte{cmd}, bytes.Join(data, nil)...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// z encodes NUL-terminated strings.
func z(s ...string) []byte {
	var b []byte
	for _, x := range s {
		b = append(append(b, x...), 0)
	}
	return b
}

func be32(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func connectInet(host string, family byte, port uint16, addr string) []byte {
	b := append(z(host), family)
	b = binary.BigEndian.AppendUint16(b, port)
	return append(b, z(addr)...)
}

func (m *mta) send(cmd byte, data ...[]byte) {
	m.t.Helper()
	_ = m.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := m.c.Write(packet(cmd, data...))
	require.NoError(m.t, err)
}

// reply is a packet from the filter.
type reply struct {
	cmd  byte
	data []byte
}

func (m *mta) read() (reply, error) {
	_ = m.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(m.r, hdr[:]); err != nil {
		return reply{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > 1<<20 {
		m.t.Fatalf("bad reply length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(m.r, b); err != nil {
		return reply{}, err
	}
	return reply{b[0], b[1:]}, nil
}

func (m *mta) expect(cmd byte) []byte {
	m.t.Helper()
	r, err := m.read()
	require.NoError(m.t, err)
	require.Equal(m.t, string(rune(cmd)), string(rune(r.cmd)), "reply %q with %q", r.cmd, r.data)
	return r.data
}

// closed asserts the filter ended the connection.
func (m *mta) closed() {
	m.t.Helper()
	r, err := m.read()
	require.ErrorIs(m.t, err, io.EOF, "got reply %q %q", r.cmd, r.data)
}

// header splits the name and value of an inserted or added header.
func hdr(t *testing.T, cmd byte, data []byte) (index uint32, name, value string) {
	t.Helper()
	if cmd == respInsHeader || cmd == respChgHeader {
		require.GreaterOrEqual(t, len(data), 4)
		index, data = binary.BigEndian.Uint32(data), data[4:]
	}
	parts := bytes.Split(data, []byte{0})
	require.Len(t, parts, 3, "%q", data)
	require.Empty(t, parts[2])
	return index, string(parts[0]), string(parts[1])
}

// Postfix 3.7's offer, as seen on the wire.
const postfixActions, postfixProto = 0x1ff, 0x1fffff

// sendMessage sends a message's envelope, header and body the way an MTA
// does after negotiation, with no replies expected (every step negotiated
// as no-reply).
func (m *mta) sendMessage(from string, rcpts []string, raw string) {
	m.t.Helper()
	m.send(cmdMacro, []byte{cmdMail}, z("{mail_addr}", from))
	m.send(cmdMail, z("<"+from+">", "SIZE=100"))
	for _, r := range rcpts {
		m.send(cmdRcpt, z("<"+r+">"))
	}
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	var fields []string
	for _, l := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			fields[len(fields)-1] += "\n" + l // MTAs pass folding as LF
		} else {
			fields = append(fields, l)
		}
	}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		m.send(cmdHeader, z(name, value)) // leading space kept (SMFIP_HDR_LEADSPC)
	}
	m.send(cmdEOH)
	for len(body) > 0 {
		n := min(len(body), 65535)
		m.send(cmdBody, []byte(body[:n]))
		body = body[n:]
	}
	m.send(cmdMacro, []byte{cmdEOB}, z("i", "ABC123"))
	m.send(cmdEOB)
}

// postfixSession negotiates as Postfix does and sends the connection and
// HELO, all without replies.
func postfixSession(t *testing.T, addr string) *mta {
	m := dialMTA(t, addr)
	m.send(cmdOptNeg, be32(6, postfixActions, postfixProto))
	neg := m.expect(respOptNeg)
	require.Equal(t, be32(6, actAddHeaders|actChangeHeaders, wantProto), neg)
	m.send(cmdMacro, []byte{cmdConnect}, z("j", "mx.test", "{daemon_name}", "smtpd"))
	m.send(cmdConnect, connectInet("mail.example.org", '4', 25, "192.0.2.25"))
	m.send(cmdHelo, z("mail.example.org"))
	return m
}

func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	return strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
}

func TestVerdicts(t *testing.T) {
	addr := startMilter(t, nil)
	m := postfixSession(t, addr)

	// GTUBE: rejected with the reason, through SMFIR_REPLYCODE.
	m.sendMessage("promo@deals.example.net", []string{"alex@example.com"}, sample(t, "gtube.eml"))
	text := m.expect(respReplyCode)
	require.True(t, bytes.HasPrefix(text, []byte("550 5.7.1 Message rejected as spam (score 100.00): GTUBE: ")), "%q", text)
	require.Equal(t, byte(0), text[len(text)-1])
	require.NotContains(t, string(text[:len(text)-1]), "\x00")

	// Good mail on the same connection: the fields inserted on top, in
	// order, then accepted.
	m.sendMessage("news@club.example.org", []string{"alex@example.com"}, sample(t, "ham-newsletter.eml"))
	i1, n1, v1 := hdr(t, respInsHeader, m.expect(respInsHeader))
	i2, n2, v2 := hdr(t, respInsHeader, m.expect(respInsHeader))
	m.expect(respAccept)
	require.Equal(t, []uint32{0, 0}, []uint32{i1, i2})
	require.Equal(t, []string{"Authentication-Results", "X-Mailscore"}, []string{n1, n2}, "inserted last-first")
	require.True(t, strings.HasPrefix(v1, " "+authservID+"; spf=temperror"), "a leading space, as agreed: %q", v1)
	require.Contains(t, v1, "smtp.mailfrom=news@club.example.org")
	require.Contains(t, v1, "policy.iprev=192.0.2.25", "the client address from SMFIC_CONNECT")
	require.True(t, strings.HasPrefix(v2, " score=0.00; action=accept;"), v2)

	// Phishing: tagged.
	m.sendMessage("service@secure-login.example.com", []string{"alex@example.com"}, sample(t, "phishing.eml"))
	var names []string
	for {
		r, err := m.read()
		require.NoError(t, err)
		if r.cmd == respAccept {
			break
		}
		require.Equal(t, byte(respInsHeader), r.cmd)
		_, n, v := hdr(t, r.cmd, r.data)
		names = append(names, n+":"+v)
	}
	require.Len(t, names, 3)
	require.Equal(t, "X-Spam-Flag: YES", names[2])
	require.Contains(t, names[1], "action=tag")

	m.send(cmdQuit)
	m.closed()
}

func TestForgedFieldsDeleted(t *testing.T) {
	addr := startMilter(t, nil)
	m := postfixSession(t, addr)
	raw := "Authentication-Results: other.example; spf=pass\r\n" +
		"X-Mailscore: score=-50.00; action=accept\r\n" +
		"Authentication-Results: " + authservID + "; dkim=pass\r\n" +
		"From: a@example.org\r\n" +
		"authentication-results: MX.TEST;\r\n\tdmarc=pass\r\n" +
		"Subject: forged\r\n\r\nhi\r\n"
	m.sendMessage("a@example.org", []string{"b@example.com"}, raw)
	// SMFIR_CHGHEADER indexes count the fields of one name, from 1; the
	// deletions come last first so earlier indexes stay right.
	var dels []string
	for {
		r, err := m.read()
		require.NoError(t, err)
		if r.cmd != respChgHeader {
			require.Equal(t, byte(respInsHeader), r.cmd)
			break
		}
		i, n, v := hdr(t, r.cmd, r.data)
		require.Empty(t, v, "an empty value deletes")
		dels = append(dels, n+"#"+string(rune('0'+i)))
	}
	require.Equal(t, []string{"authentication-results#3", "Authentication-Results#2", "X-Mailscore#1"}, dels)
	m.expect(respInsHeader)
	m.expect(respAccept)
}

func TestOldMTA(t *testing.T) {
	// A version 2 MTA offers no no-reply steps and no header insertion:
	// every step is answered and the fields are appended.
	addr := startMilter(t, nil)
	m := dialMTA(t, addr)
	m.send(cmdOptNeg, be32(2, 0x3f, 0x7f))
	require.Equal(t, be32(2, actAddHeaders|actChangeHeaders, 0), m.expect(respOptNeg))
	m.send(cmdConnect, connectInet("[2001:db8::25]", '6', 25, "IPv6:2001:db8::25"))
	m.expect(respContinue)
	m.send(cmdHelo, z("client.example"))
	m.expect(respContinue)
	m.send(cmdMail, z("<>"))
	m.expect(respContinue)
	m.send(cmdRcpt, z("<b@example.com>"))
	m.expect(respContinue)
	m.send(cmdHeader, z("Subject", "hello"))
	m.expect(respContinue)
	m.send(cmdHeader, z("From", "a@example.org"))
	m.expect(respContinue)
	m.send(cmdEOH)
	m.expect(respContinue)
	m.send(cmdBody, []byte("hi\r\n"))
	m.expect(respContinue)
	m.send(cmdEOB)
	_, n1, v1 := hdr(t, respAddHeader, m.expect(respAddHeader))
	_, n2, v2 := hdr(t, respAddHeader, m.expect(respAddHeader))
	m.expect(respAccept)
	require.Equal(t, "X-Mailscore", n1)
	require.True(t, strings.HasPrefix(v1, "score="), "no leading space without SMFIP_HDR_LEADSPC: %q", v1)
	require.Equal(t, "Authentication-Results", n2)
	require.Contains(t, v2, `policy.iprev="2001:db8::25"`, "the IPv6 address, its IPv6: prefix removed")
}

func TestNoHeaderChanges(t *testing.T) {
	// An MTA that allows no modifications still gets verdicts.
	addr := startMilter(t, nil)
	m := dialMTA(t, addr)
	m.send(cmdOptNeg, be32(6, 0, postfixProto))
	require.Equal(t, be32(6, 0, wantProto), m.expect(respOptNeg))
	m.send(cmdConnect, connectInet("unknown", 'U', 0, ""))
	m.sendMessage("a@example.org", []string{"b@example.com"}, "Subject: hi\r\nX-Mailscore: forged\r\n\r\nhello\r\n")
	m.expect(respAccept)
	m.sendMessage("a@example.org", []string{"b@example.com"}, sample(t, "gtube.eml"))
	require.Contains(t, string(m.expect(respReplyCode)), "550 5.7.1")
}

func TestSizeLimitAndSkip(t *testing.T) {
	addr := startMilter(t, func(o *Options) { o.MaxSize = 1000 })
	m := dialMTA(t, addr)
	// The MTA understands SKIP but wants replies to body chunks.
	m.send(cmdOptNeg, be32(6, postfixActions, postfixProto&^protoNoReplyBody))
	m.expect(respOptNeg)
	m.send(cmdConnect, connectInet("x", '4', 25, "192.0.2.1"))
	m.send(cmdMail, z("<a@example.org>"))
	m.send(cmdHeader, z("Subject", " big"))
	m.send(cmdEOH)
	m.send(cmdBody, bytes.Repeat([]byte("x"), 600))
	m.expect(respContinue)
	m.send(cmdBody, bytes.Repeat([]byte("y"), 600))
	m.expect(respSkip)
	m.send(cmdEOB)
	m.expect(respContinue) // unscored: let through
	// The next message is scored again.
	m.sendMessage("a@example.org", []string{"b@example.com"}, "Subject: small\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")
	// Body chunks get a reply here.
	m.expect(respContinue)
	require.Contains(t, string(m.expect(respReplyCode)), "GTUBE")
}

func TestAbortAndQuitNC(t *testing.T) {
	got := make(chan mailscore.Envelope, 4)
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, envelopeCheck(got))
	require.NoError(t, err)
	addr := startMilter(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	m := postfixSession(t, addr)
	// A message aborted halfway leaves nothing behind.
	m.send(cmdMail, z("<first@example.org>"))
	m.send(cmdRcpt, z("<one@example.com>"))
	m.send(cmdHeader, z("Subject", " aborted"))
	m.send(cmdAbort)
	m.sendMessage("second@example.org", []string{"two@example.com", "three@example.com"}, "Subject: s\r\n\r\nx\r\n")
	m.expect(respInsHeader)
	m.expect(respAccept)
	env := <-got
	require.Equal(t, "192.0.2.25", env.ClientIP.String())
	require.Equal(t, "mail.example.org", env.HELO)
	require.Equal(t, "second@example.org", env.MailFrom)
	require.Equal(t, []string{"two@example.com", "three@example.com"}, env.RcptTo)

	// A new SMTP connection on the same milter connection: the old
	// client's details are gone.
	m.send(cmdQuitNC)
	m.send(cmdConnect, connectInet("local", 'L', 0, "/var/run/sock"))
	m.sendMessage("", []string{"postmaster"}, "Subject: t\r\n\r\nx\r\n")
	m.expect(respInsHeader)
	m.expect(respAccept)
	env = <-got
	require.False(t, env.ClientIP.IsValid(), "a Unix socket client has no address")
	require.Empty(t, env.HELO)
	require.Empty(t, env.MailFrom, "the null sender")
}

type envelopeCheck chan mailscore.Envelope

func (envelopeCheck) Name() string { return "envelope" }
func (c envelopeCheck) Check(_ context.Context, m *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	c <- m.Envelope
	return nil, nil
}

// slowCheck never finishes; with strongCheck it makes the verdict defer.
type slowCheck struct{}

func (slowCheck) Name() string { return "slow" }
func (slowCheck) Check(ctx context.Context, _ *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type strongCheck struct{}

func (strongCheck) Name() string { return "strong" }
func (strongCheck) Symbols() []mailscore.Symbol {
	return []mailscore.Symbol{{Name: "STRONG", Weight: 30}}
}
func (strongCheck) Check(context.Context, *mailscore.Message, []mailscore.Signal) ([]mailscore.Signal, error) {
	return []mailscore.Signal{{Symbol: "STRONG", Value: 1, Confidence: 1, Reason: "100% bad"}}, nil
}

func TestDefer(t *testing.T) {
	e, err := mailscore.NewEngine(mailscore.EngineOptions{Timeout: time.Second}, strongCheck{}, slowCheck{})
	require.NoError(t, err)
	addr := startMilter(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	m := postfixSession(t, addr)
	m.sendMessage("a@example.org", []string{"b@example.com"}, "Subject: x\r\n\r\ny\r\n")
	require.Equal(t, "451 4.7.1 Message deferred: checks did not finish (slow); try again later\x00", string(m.expect(respReplyCode)))

	e, err = mailscore.NewEngine(mailscore.EngineOptions{}, strongCheck{})
	require.NoError(t, err)
	addr = startMilter(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	m = postfixSession(t, addr)
	m.sendMessage("a@example.org", []string{"b@example.com"}, "Subject: x\r\n\r\ny\r\n")
	require.Equal(t, "550 5.7.1 Message rejected as spam (score 30.00): STRONG: 100 percent bad\x00", string(m.expect(respReplyCode)),
		"no '%' in a reply text (Sendmail expands it)")
}

func TestProtocolErrors(t *testing.T) {
	addr := startMilter(t, func(o *Options) { o.MaxHeaders = 3 })
	tests := []struct {
		name string
		raw  [][]byte
	}{
		{"zero length", [][]byte{{0, 0, 0, 0}}},
		{"too large", [][]byte{be32(maxPacket + 1), {cmdBody}}},
		{"command before OPTNEG", [][]byte{packet(cmdHelo, z("x"))}},
		{"short OPTNEG", [][]byte{packet(cmdOptNeg, be32(6, 1))}},
		{"version 1", [][]byte{packet(cmdOptNeg, be32(1, 1, 0))}},
		{"second OPTNEG", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdOptNeg, be32(6, 0x1ff, postfixProto))}},
		{"unknown command", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet('Z')}},
		{"connect without family", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdConnect, z("host"))}},
		{"connect bad address", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdConnect, connectInet("h", '4', 25, "999.1.1.1"))}},
		{"header without name", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdHeader, z("", "v"))}},
		{"empty macro", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdMacro)}},
		{"MAIL without address", [][]byte{packet(cmdOptNeg, be32(6, 0x1ff, postfixProto)), packet(cmdMail)}},
		{"truncated", [][]byte{be32(100), {cmdBody, 'x'}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dialMTA(t, addr)
			for _, p := range tt.raw {
				_, err := m.c.Write(p)
				require.NoError(t, err)
			}
			if tt.name == "truncated" {
				require.NoError(t, m.c.(*net.TCPConn).CloseWrite())
			}
			for {
				r, err := m.read()
				if err != nil {
					// Closed; a reset if unread input was left behind.
					require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "%v", err)
					break
				}
				require.Equal(t, byte(respOptNeg), r.cmd, "only the negotiation is answered")
			}
		})
	}

	// Too many header fields: the message passes unscored.
	m := postfixSession(t, addr)
	m.sendMessage("a@example.org", []string{"b@example.com"}, "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")
	m.expect(respContinue)
}

func TestGracefulShutdown(t *testing.T) {
	m, err := New(Options{Setup: sharedSetup(), Grace: 20 * time.Second})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	idle := postfixSession(t, ln.Addr().String())
	busy := postfixSession(t, ln.Addr().String())
	busy.send(cmdMail, z("<a@example.org>"))
	busy.send(cmdHeader, z("Subject", " in flight"))
	time.Sleep(100 * time.Millisecond) // let both packets be read
	cancel()
	idle.closed() // between messages: closed at once
	busy.send(cmdEOH)
	busy.send(cmdBody, []byte("hello\r\n"))
	busy.send(cmdEOB)
	busy.expect(respInsHeader)
	busy.expect(respInsHeader)
	busy.expect(respAccept)
	busy.closed() // then closed: the message was done
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestRun(t *testing.T) {
	require.Equal(t, 2, run(context.Background(), []string{"extra"}, io.Discard, nil))
	require.Equal(t, 2, run(context.Background(), []string{"-offline", "-uribl", "nope"}, io.Discard, nil))
	require.Equal(t, 0, run(context.Background(), []string{"-h"}, io.Discard, nil))

	dir := t.TempDir()
	sock := filepath.Join(dir, "milter.sock")
	state := filepath.Join(dir, "state")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan net.Addr, 1)
	exit := make(chan int, 1)
	var logs syncBuffer
	go func() {
		exit <- run(ctx, []string{"-offline", "-listen", "unix:" + sock, "-authserv-id", "mx.run.test", "-state", state}, &logs, ready)
	}()
	select {
	case <-ready:
	case code := <-exit:
		t.Fatalf("exited with %d: %s", code, logs.String())
	}
	// A second filter on the same socket is refused.
	require.Equal(t, 1, run(ctx, []string{"-offline", "-listen", "unix:" + sock}, io.Discard, nil))

	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	m := &mta{t: t, c: c, r: bufio.NewReader(c)}
	m.send(cmdOptNeg, be32(6, postfixActions, postfixProto))
	m.expect(respOptNeg)
	m.send(cmdMacro, []byte{cmdConnect}, z("j", "mx", "{daemon_name}", "smtpd"))
	m.send(cmdConnect, connectInet("x", '4', 25, "192.0.2.9"))
	m.sendMessage("a@example.org", []string{"b@example.com"}, "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
	_, name, value := hdr(t, respInsHeader, m.expect(respInsHeader))
	require.Equal(t, "Authentication-Results", name)
	require.True(t, strings.HasPrefix(value, " mx.run.test;"), value)
	m.expect(respInsHeader)
	m.expect(respAccept)
	m.send(cmdQuit)
	c.Close()
	cancel()
	require.Equal(t, 0, <-exit, logs.String())
	require.Contains(t, logs.String(), "queue_id=ABC123")
	require.Contains(t, logs.String(), "mta=mx", "the connect macros are kept")
	_, err = os.Stat(state)
	require.NoError(t, err, "state saved at shutdown")

	// A stale socket from a dead run is replaced.
	_, err = os.Stat(sock)
	require.ErrorIs(t, err, os.ErrNotExist, "the socket is removed at shutdown")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	stale.SetUnlinkOnClose(false)
	stale.Close()
	_, err = os.Stat(sock)
	require.NoError(t, err)
	ctx2, cancel2 := context.WithCancel(context.Background())
	ready2 := make(chan net.Addr, 1)
	exit2 := make(chan int, 1)
	go func() { exit2 <- run(ctx2, []string{"-offline", "-listen", "unix:" + sock}, io.Discard, ready2) }()
	select {
	case <-ready2:
	case code := <-exit2:
		t.Fatalf("exited with %d", code)
	}
	cancel2()
	require.Equal(t, 0, <-exit2)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
