package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/servetest"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

const authservID = "mx.test"

// sharedSetup is the engine the program uses, with -offline, built once
// for all tests.
var sharedSetup = sync.OnceValue(func() *wiring.Setup { return servetest.OfflineSetup(authservID) })

type testServer struct {
	addr    string
	maildir string
	cancel  context.CancelFunc
	done    chan error
}

// startServer runs a server on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	opts := Options{
		Setup:    sharedSetup(),
		Maildir:  t.TempDir(),
		Hostname: authservID,
		Grace:    2 * time.Second,
		Logger:   servetest.Logger(t),
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := NewServer(opts)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{addr: ln.Addr().String(), maildir: opts.Maildir, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(ts.stop(t))
	return ts
}

func (ts *testServer) stop(t *testing.T) func() {
	return func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	}
}

// delivered returns the contents of the files in the Maildir's new/.
func (ts *testServer) delivered(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(ts.maildir, "new"))
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(ts.maildir, "new", e.Name()))
		require.NoError(t, err)
		out = append(out, string(b))
	}
	tmp, err := os.ReadDir(filepath.Join(ts.maildir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp, "nothing is left in tmp/")
	return out
}

// client is a raw SMTP client connection.
type client struct {
	*textproto.Conn
	nc net.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := &client{Conn: textproto.NewConn(nc), nc: nc}
	t.Cleanup(func() { c.Close() })
	return c
}

// step is one exchange of a dialogue: a line sent (raw is written as is,
// with no CRLF added) and the reply expected: its code and text that its
// last line starts with.
type step struct {
	send, raw string
	code      int
	text      string
}

// converse plays a dialogue on c.
func converse(t *testing.T, c *client, steps []step) {
	t.Helper()
	for i, s := range steps {
		switch {
		case s.raw != "":
			_, err := c.W.WriteString(s.raw)
			require.NoError(t, err)
			require.NoError(t, c.W.Flush())
		case s.send != "":
			require.NoError(t, c.PrintfLine("%s", s.send))
		}
		if s.code == 0 {
			continue
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		code, msg, err := c.ReadResponse(0)
		require.NoError(t, err, "step %d (%q): no reply", i, s.send+s.raw)
		lines := strings.Split(msg, "\n")
		require.Equal(t, s.code, code, "step %d (%q): %s", i, s.send+s.raw, msg)
		require.True(t, strings.HasPrefix(lines[len(lines)-1], s.text), "step %d (%q): got %q, want prefix %q", i, s.send+s.raw, msg, s.text)
	}
}

// closed asserts the server closed the connection.
func closed(t *testing.T, c *client) {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := c.ReadLine()
	require.ErrorIs(t, err, io.EOF, "expected the server to close, got %q", line)
}

var greeting = step{code: 220, text: authservID + " ESMTP"}
var ehlo = step{send: "EHLO client.example", code: 250, text: "ENHANCEDSTATUSCODES"}

func TestDialogues(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		steps  []step
		closed bool
	}{
		{name: "greeting and EHLO", steps: []step{greeting, ehlo, {send: "HELO client.example", code: 250, text: authservID}}},
		{name: "EHLO lists the extensions", steps: []step{greeting, {send: "EHLO x", code: 250, text: "ENHANCEDSTATUSCODES"}}},
		{name: "HELO without a name", steps: []step{greeting, {send: "HELO", code: 501, text: "5.5.4"}}},
		{name: "EHLO with a control character", steps: []step{greeting, {send: "EHLO a\x01b", code: 501, text: "5.5.4"}}},
		{name: "MAIL before EHLO", steps: []step{greeting, {send: "MAIL FROM:<a@example.org>", code: 503, text: "5.5.1"}}},
		{name: "RCPT before MAIL", steps: []step{greeting, ehlo, {send: "RCPT TO:<b@example.com>", code: 503, text: "5.5.1"}}},
		{name: "DATA before MAIL", steps: []step{greeting, ehlo, {send: "DATA", code: 503, text: "5.5.1 Error: need MAIL"}}},
		{name: "DATA before RCPT", steps: []step{greeting, ehlo, {send: "MAIL FROM:<a@example.org>", code: 250, text: "2.1.0"}, {send: "DATA", code: 503, text: "5.5.1 Error: need RCPT"}}},
		{name: "null sender", steps: []step{greeting, ehlo, {send: "MAIL FROM:<>", code: 250, text: "2.1.0"}, {send: "RCPT TO:<b@example.com>", code: 250, text: "2.1.5"}}},
		{name: "space after the colon", steps: []step{greeting, ehlo, {send: "MAIL FROM: <a@example.org>", code: 250, text: "2.1.0"}}},
		{name: "no angle brackets", steps: []step{greeting, ehlo, {send: "MAIL FROM:a@example.org", code: 501, text: "5.1.7"}}},
		{name: "SIZE over the limit", opts: func(o *Options) { o.MaxSize = 1000 }, steps: []step{greeting,
			{send: "EHLO x", code: 250, text: "ENHANCEDSTATUSCODES"},
			{send: "MAIL FROM:<a@example.org> SIZE=1001", code: 552, text: "5.3.4"},
			{send: "MAIL FROM:<a@example.org> SIZE=1000", code: 250, text: "2.1.0"}}},
		{name: "SIZE garbage", steps: []step{greeting, ehlo, {send: "MAIL FROM:<a@example.org> SIZE=12k", code: 501, text: "5.5.4"}}},
		{name: "BODY", steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org> BODY=BINARYMIME", code: 501, text: "5.5.4"},
			{send: "MAIL FROM:<a@example.org> BODY=8bitmime", code: 250, text: "2.1.0"}}},
		{name: "unknown MAIL parameter", steps: []step{greeting, ehlo, {send: "MAIL FROM:<a@example.org> SMTPUTF8", code: 555, text: "5.5.4"}}},
		{name: "nested MAIL", steps: []step{greeting, ehlo, {send: "MAIL FROM:<a@example.org>", code: 250}, {send: "MAIL FROM:<a@example.org>", code: 503, text: "5.5.1"}}},
		{name: "RSET ends the transaction", steps: []step{greeting, ehlo, {send: "MAIL FROM:<a@example.org>", code: 250},
			{send: "RSET", code: 250, text: "2.0.0"}, {send: "RCPT TO:<b@example.com>", code: 503}, {send: "RSET x", code: 501}}},
		{name: "null recipient", steps: []step{greeting, ehlo, {send: "MAIL FROM:<>", code: 250}, {send: "RCPT TO:<>", code: 501, text: "5.1.3"}}},
		{name: "postmaster", steps: []step{greeting, ehlo, {send: "MAIL FROM:<>", code: 250}, {send: "RCPT TO:<Postmaster>", code: 250, text: "2.1.5"}}},
		{name: "RCPT parameter", steps: []step{greeting, ehlo, {send: "MAIL FROM:<>", code: 250}, {send: "RCPT TO:<b@example.com> NOTIFY=NEVER", code: 555, text: "5.5.4"}}},
		{name: "non-ASCII address", steps: []step{greeting, ehlo, {send: "MAIL FROM:<jörg@example.org>", code: 553, text: "5.6.7"}}},
		{name: "too many recipients", opts: func(o *Options) { o.MaxRecipients = 2 }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250},
			{send: "RCPT TO:<b1@example.com>", code: 250}, {send: "RCPT TO:<b2@example.com>", code: 250},
			{send: "RCPT TO:<b3@example.com>", code: 452, text: "4.5.3"}}},
		{name: "recipient domains", opts: func(o *Options) { o.Domains = []string{"Example.COM"} }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250},
			{send: "RCPT TO:<b@example.com>", code: 250}, {send: "RCPT TO:<b@EXAMPLE.com.>", code: 250},
			{send: "RCPT TO:<b@example.net>", code: 550, text: "5.7.1 Relaying denied"},
			{send: "RCPT TO:<postmaster>", code: 250}}},
		{name: "command line too long", steps: []step{greeting, {send: "NOOP " + strings.Repeat("x", 2000), code: 500, text: "5.5.2 Line too long"}, {send: "NOOP", code: 250}}},
		{name: "unknown and unimplemented commands", steps: []step{greeting, {send: "FROB", code: 500, text: "5.5.2"}, {send: "EXPN staff", code: 502, text: "5.5.1"}, {send: "AUTH PLAIN", code: 502}}},
		{name: "small talk", steps: []step{greeting, {send: "NOOP", code: 250, text: "2.0.0"}, {send: "VRFY root", code: 252, text: "2.5.0"},
			{send: "HELP", code: 214, text: "2.0.0"}, {send: "QUIT", code: 221, text: "2.0.0"}}, closed: true},
		{name: "DATA with an argument", steps: []step{greeting, ehlo, {send: "MAIL FROM:<>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA now", code: 501}}},
		{name: "STARTTLS not configured", steps: []step{greeting, ehlo, {send: "STARTTLS", code: 502, text: "5.5.1"}}},
		{name: "too many errors", opts: func(o *Options) { o.MaxErrors = 3 }, steps: []step{greeting,
			{send: "BAD1", code: 500}, {send: "BAD2", code: 500}, {send: "BAD3", code: 500}, {code: 421, text: "4.7.0"}}, closed: true},
		{name: "bare LF ends a command", steps: []step{greeting, {raw: "EHLO lf.example\n", code: 250, text: "ENHANCEDSTATUSCODES"}, {raw: "NOOP\n", code: 250}}},
		{name: "HTTP request", steps: []step{greeting, {send: "GET / HTTP/1.1"}}, closed: true},
		{name: "pipelining", steps: []step{greeting, ehlo,
			{raw: "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n", code: 250, text: "2.1.0"},
			{code: 250, text: "2.1.5"}, {code: 250, text: "2.1.5"}, {code: 354},
			{raw: "Subject: pipelined\r\n\r\nhello\r\n.\r\nNOOP\r\n", code: 250, text: "2.0.0 Ok: queued as "}, {code: 250, text: "2.0.0 Ok"}}},
		{name: "message over the size limit", opts: func(o *Options) { o.MaxSize = 200 }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: "Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 30) + ".\r\n", code: 552, text: "5.3.4"},
			{send: "NOOP", code: 250}, {send: "RCPT TO:<b@example.com>", code: 503}}},
		{name: "line over the length limit", opts: func(o *Options) { o.MaxLineLength = 50 }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: "Subject: long\r\n\r\n" + strings.Repeat("x", 51) + "\r\n.\r\n", code: 552, text: "5.3.4"}, {send: "NOOP", code: 250}}},
		{name: "bare LF in data", steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: "Subject: lf\n\nbody\n.\n", code: 554, text: "5.5.2"}}, closed: true},
		{name: "empty message", steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: ".\r\n", code: 554, text: "5.6.0"}}},
		{name: "too many messages", opts: func(o *Options) { o.MaxMessages = 1 }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: "Subject: one\r\n\r\nx\r\n.\r\n", code: 250}, {send: "MAIL FROM:<a@example.org>", code: 421, text: "4.7.0"}}, closed: true},
		{name: "command timeout", opts: func(o *Options) { o.CommandTimeout = 300 * time.Millisecond }, steps: []step{greeting, {code: 421, text: "4.4.2"}}, closed: true},
		{name: "data timeout", opts: func(o *Options) { o.DataTimeout = 300 * time.Millisecond }, steps: []step{greeting, ehlo,
			{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
			{raw: "Subject: slow\r\n", code: 421, text: "4.4.2"}}, closed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tt.opts)
			c := dial(t, ts.addr)
			converse(t, c, tt.steps)
			if tt.closed {
				closed(t, c)
			}
		})
	}
}

// sample reads a message of examples/testdata.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	return b
}

// crlf gives a message CRLF line breaks, as it has on the wire.
func crlf(b []byte) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n"))
}

// header returns the header section of a delivered file, unfolded (RFC
// 5322 section 2.2.3).
func header(file string) string {
	h, _, _ := strings.Cut(file, "\r\n\r\n")
	h = strings.ReplaceAll(h, "\r\n ", " ")
	h = strings.ReplaceAll(h, "\r\n\t", "\t")
	return h + "\r\n"
}

func TestVerdicts(t *testing.T) {
	ts := startServer(t, nil)
	send := func(from string, to []string, msg []byte) error {
		return smtp.SendMail(ts.addr, nil, from, to, msg)
	}

	// GTUBE: rejected with the dominant factor named; nothing delivered.
	err := send("promo@deals.example.net", []string{"alex@example.com"}, crlf(sample(t, "gtube.eml")))
	var perr *textproto.Error
	require.ErrorAs(t, err, &perr)
	require.Equal(t, 550, perr.Code)
	require.True(t, strings.HasPrefix(perr.Msg, "5.7.1 Message rejected as spam (score 100.00): GTUBE: "), perr.Msg)
	require.LessOrEqual(t, len(perr.Msg), wiring.MaxReplyText+6)
	require.Empty(t, ts.delivered(t))

	// Good mail: accepted and delivered with the fields on top.
	ham := crlf(sample(t, "ham-newsletter.eml"))
	require.NoError(t, send("news@club.example.org", []string{"alex@example.com"}, ham))
	files := ts.delivered(t)
	require.Len(t, files, 1)
	f := files[0]
	require.True(t, strings.HasPrefix(f, "Return-Path: <news@club.example.org>\r\nX-Mailscore: score="), f)
	h := header(f)
	require.Contains(t, h, "\r\nX-Mailscore: score=0.00; action=accept; incomplete=")
	require.Contains(t, h, "\r\nAuthentication-Results: "+authservID+"; spf=temperror")
	require.Contains(t, h, "\r\nReceived: from localhost ([127.0.0.1]) by "+authservID+" (mailscore-smtpd) with ESMTP id ")
	require.Contains(t, h, "for <alex@example.com>;")
	require.NotContains(t, h, "X-Spam-Flag")
	require.Equal(t, 1, strings.Count(h, "Return-Path:"), "the message's own Return-Path is replaced")
	// Below the added fields, the message is as sent (minus its
	// Return-Path), byte for byte.
	i := strings.Index(f, "Received: from mail.club.example.org")
	require.Positive(t, i)
	_, rest, _ := strings.Cut(string(ham), "\r\n")
	require.Equal(t, rest, f[i:])

	// Phishing: tagged, delivered with the tag field.
	require.NoError(t, send("security@paypa1-verify.example", []string{"alex@example.com"}, crlf(sample(t, "phishing.eml"))))
	files = ts.delivered(t)
	require.Len(t, files, 2)
	tagged := 0
	for _, f := range files {
		if strings.Contains(header(f), "\r\nX-Spam-Flag: YES\r\n") {
			tagged++
			require.Contains(t, header(f), "action=tag")
		}
	}
	require.Equal(t, 1, tagged)
}

func TestForgedFieldsRemoved(t *testing.T) {
	ts := startServer(t, nil)
	msg := "Authentication-Results: " + authservID + "; spf=pass smtp.mailfrom=ceo@example.com\r\n" +
		"Authentication-Results: other.example; dkim=pass header.d=example.com\r\n" +
		"X-Mailscore: score=-10.00; action=accept\r\n" +
		"x-spam-flag: NO\r\n" +
		"AUTHENTICATION-RESULTS: MX.TEST;\r\n dmarc=pass\r\n" +
		"From: a@example.org\r\nSubject: forged\r\n\r\nhello\r\n"
	require.NoError(t, smtp.SendMail(ts.addr, nil, "a@example.org", []string{"b@example.com"}, []byte(msg)))
	files := ts.delivered(t)
	require.Len(t, files, 1)
	h := header(files[0])
	require.Equal(t, 1, strings.Count(strings.ToLower(h), "authentication-results: "+authservID), h)
	require.Contains(t, h, "Authentication-Results: other.example; dkim=pass header.d=example.com\r\n")
	require.Equal(t, 1, strings.Count(h, "X-Mailscore:"), h)
	require.NotContains(t, h, "score=-10.00")
	require.NotContains(t, strings.ToLower(h), "x-spam-flag")
	require.Contains(t, h, "From: a@example.org\r\nSubject: forged\r\n")
}

func TestDotStuffingDelivered(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	converse(t, c, []step{greeting, ehlo,
		{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
		{raw: "Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\tx\r\nmid.dle\r\n.\r\n", code: 250},
	})
	files := ts.delivered(t)
	require.Len(t, files, 1)
	require.True(t, strings.HasSuffix(files[0], "Subject: dots\r\n\r\n.leading dot\r\n..\r\n\tx\r\nmid.dle\r\n"), files[0])
}

func TestBareLFAccepted(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.AllowBareLF = true })
	c := dial(t, ts.addr)
	// <LF>.<LF> and <LF>.<CRLF> are data: the "second message" stays inside
	// the first.
	converse(t, c, []step{greeting, ehlo,
		{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
		{raw: "Subject: lf\n\nbody\n.\nMAIL FROM:<evil@example.net>\n.\r\nRCPT TO:<victim@example.com>\r\n.\r\n", code: 250, text: "2.0.0"},
		{send: "NOOP", code: 250},
	})
	files := ts.delivered(t)
	require.Len(t, files, 1)
	require.True(t, strings.HasSuffix(files[0], "Subject: lf\n\nbody\n.\nMAIL FROM:<evil@example.net>\n.\r\nRCPT TO:<victim@example.com>\r\n"), files[0])
}

// deadlineCheck is a check that never finishes in time; with a strong
// signal from another check it makes the verdict defer.
type deadlineCheck struct{}

func (deadlineCheck) Name() string { return "slow" }
func (deadlineCheck) Check(ctx context.Context, _ *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// subjectCheck flags a subject word with a weight past the reject
// threshold.
type subjectCheck struct{}

func (subjectCheck) Name() string { return "subject" }
func (subjectCheck) Symbols() []mailscore.Symbol {
	return []mailscore.Symbol{{Name: "SUBJECT_BAD", Weight: 20}}
}
func (subjectCheck) Check(_ context.Context, m *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	if strings.Contains(m.Header.Get("Subject"), "bad") {
		return []mailscore.Signal{{Symbol: "SUBJECT_BAD", Value: 1, Confidence: 1, Reason: "Subject says bad\r\nInjected: yes"}}, nil
	}
	return nil, nil
}

func TestDeferAndRejectReplies(t *testing.T) {
	e, err := mailscore.NewEngine(mailscore.EngineOptions{Timeout: time.Second}, subjectCheck{}, deadlineCheck{})
	require.NoError(t, err)
	ts := startServer(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	err = smtp.SendMail(ts.addr, nil, "a@example.org", []string{"b@example.com"}, []byte("Subject: bad\r\n\r\nx\r\n"))
	var perr *textproto.Error
	require.ErrorAs(t, err, &perr)
	require.Equal(t, 451, perr.Code)
	require.Equal(t, "4.7.1 Message deferred: checks did not finish (slow); try again later", perr.Msg)
	require.NoError(t, smtp.SendMail(ts.addr, nil, "a@example.org", []string{"b@example.com"}, []byte("Subject: good\r\n\r\nx\r\n")))
	files := ts.delivered(t)
	require.Len(t, files, 1)
	require.NotContains(t, files[0], "Authentication-Results", "no auth check, no field")
	require.Contains(t, files[0], "X-Mailscore: score=0.00; action=accept; incomplete=slow\r\n")

	// Without the slow check, the same message is rejected, the reason
	// made one safe line.
	e, err = mailscore.NewEngine(mailscore.EngineOptions{}, subjectCheck{})
	require.NoError(t, err)
	ts = startServer(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	err = smtp.SendMail(ts.addr, nil, "a@example.org", []string{"b@example.com"}, []byte("Subject: bad\r\n\r\nx\r\n"))
	require.ErrorAs(t, err, &perr)
	require.Equal(t, 550, perr.Code)
	require.Equal(t, "5.7.1 Message rejected as spam (score 20.00): SUBJECT_BAD: Subject says bad Injected: yes", perr.Msg)
}

func TestConnectionLimits(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxConns = 1 })
	c1 := dial(t, ts.addr)
	converse(t, c1, []step{greeting})
	c2 := dial(t, ts.addr)
	converse(t, c2, []step{{code: 421, text: "4.3.2"}})
	closed(t, c2)
	converse(t, c1, []step{{send: "QUIT", code: 221}})
	closed(t, c1)
	// The slot is free again (the server notices the first session's end
	// asynchronously).
	require.Eventually(t, func() bool {
		c, err := textproto.Dial("tcp", ts.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		code, _, err := c.ReadResponse(0)
		return err == nil && code == 220
	}, 10*time.Second, 20*time.Millisecond)

	ts = startServer(t, func(o *Options) { o.MaxPerIP = 1 })
	c1 = dial(t, ts.addr)
	converse(t, c1, []step{greeting})
	c2 = dial(t, ts.addr)
	converse(t, c2, []step{{code: 421, text: "4.3.2"}})
}

func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Grace = 20 * time.Second })
	idle := dial(t, ts.addr)
	converse(t, idle, []step{greeting, ehlo})
	busy := dial(t, ts.addr)
	converse(t, busy, []step{greeting, ehlo,
		{send: "MAIL FROM:<a@example.org>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "DATA", code: 354},
		{raw: "Subject: in flight\r\n\r\n"}})

	ts.cancel()
	// The idle session is told at once; the busy one finishes its message
	// and is told after.
	converse(t, idle, []step{{code: 421, text: "4.3.2"}})
	closed(t, idle)
	converse(t, busy, []step{{raw: "still here\r\n.\r\n", code: 250, text: "2.0.0"}, {code: 421, text: "4.3.2"}})
	closed(t, busy)
	select {
	case err := <-ts.done:
		require.NoError(t, err)
		ts.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop")
	}
	require.Len(t, ts.delivered(t), 1)
	// New connections are refused.
	_, err := net.DialTimeout("tcp", ts.addr, time.Second)
	require.Error(t, err)
}

// selfSigned writes a certificate and key for 127.0.0.1 to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: authservID},
		DNSNames: []string{authservID}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pemBlock("CERTIFICATE", der), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pemBlock("EC PRIVATE KEY", kder), 0o600))
	return certFile, keyFile, pool
}

func TestStartTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	ts := startServer(t, func(o *Options) { o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} })

	c, err := smtp.Dial(ts.addr)
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("STARTTLS")
	require.True(t, ok)
	require.NoError(t, c.StartTLS(&tls.Config{ServerName: authservID, RootCAs: pool}))
	ok, _ = c.Extension("STARTTLS")
	require.False(t, ok, "not offered again over TLS")
	require.NoError(t, c.Mail("a@example.org"))
	require.NoError(t, c.Rcpt("b@example.com"))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write([]byte("Subject: tls\r\n\r\nsecret\r\n"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit())
	files := ts.delivered(t)
	require.Len(t, files, 1)
	require.Contains(t, header(files[0]), "(mailscore-smtpd) with ESMTPS id ")

	// Commands pipelined in the clear after STARTTLS are dropped, not run
	// as if they had come over TLS.
	raw, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer raw.Close()
	br := bufio.NewReader(raw)
	readCode := func(r *bufio.Reader) string {
		_ = raw.SetReadDeadline(time.Now().Add(20 * time.Second))
		var last string
		for {
			l, err := r.ReadString('\n')
			require.NoError(t, err)
			if len(l) < 4 || l[3] != '-' {
				last = l
				break
			}
		}
		return last[:3]
	}
	require.Equal(t, "220", readCode(br))
	_, err = raw.Write([]byte("EHLO x\r\n"))
	require.NoError(t, err)
	require.Equal(t, "250", readCode(br))
	_, err = raw.Write([]byte("STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n"))
	require.NoError(t, err)
	require.Equal(t, "220", readCode(br))
	tc := tls.Client(raw, &tls.Config{ServerName: authservID, RootCAs: pool})
	require.NoError(t, tc.Handshake())
	tr := bufio.NewReader(tc)
	_, err = tc.Write([]byte("EHLO x\r\nRCPT TO:<b@example.com>\r\n"))
	require.NoError(t, err)
	require.Equal(t, "250", readCode(tr))
	require.Equal(t, "503", readCode(tr), "the injected MAIL did not open a transaction")
}

func TestEnvelopeFromSession(t *testing.T) {
	// A check that reports the envelope it was given, so the test sees
	// what the server built from the session.
	got := make(chan mailscore.Envelope, 1)
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, envelopeCheck(got))
	require.NoError(t, err)
	ts := startServer(t, func(o *Options) { o.Setup = &wiring.Setup{Engine: e} })
	c := dial(t, ts.addr)
	converse(t, c, []step{greeting, {send: "EHLO client.example", code: 250},
		{send: "MAIL FROM:<>", code: 250}, {send: "RCPT TO:<b@example.com>", code: 250}, {send: "RCPT TO:<postmaster>", code: 250},
		{send: "DATA", code: 354}, {raw: "Subject: env\r\n\r\nx\r\n.\r\n", code: 250}})
	env := <-got
	require.Equal(t, "127.0.0.1", env.ClientIP.String())
	require.Equal(t, "client.example", env.HELO)
	require.Empty(t, env.MailFrom)
	require.Equal(t, []string{"b@example.com", "postmaster"}, env.RcptTo)
	f := ts.delivered(t)[0]
	require.True(t, strings.HasPrefix(f, "Return-Path: <>\r\n"), f)
	require.NotContains(t, header(f), " for <", "no recipient named when there are two")
}

type envelopeCheck chan mailscore.Envelope

func (envelopeCheck) Name() string { return "envelope" }
func (c envelopeCheck) Check(_ context.Context, m *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	select {
	case c <- m.Envelope:
	default:
	}
	return nil, nil
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var stderr strings.Builder
	require.Equal(t, 2, run(context.Background(), []string{"-offline"}, &stderr, nil), "-maildir is required")
	require.Contains(t, stderr.String(), "-maildir is required")
	require.Equal(t, 2, run(context.Background(), []string{"-maildir", dir, "-bare-lf", "maybe"}, io.Discard, nil))
	require.Equal(t, 2, run(context.Background(), []string{"-maildir", dir, "-tls-cert", "x"}, io.Discard, nil))
	require.Equal(t, 2, run(context.Background(), []string{"-maildir", dir, "-dnsbl", "bogus", "-offline"}, io.Discard, nil))
	require.Equal(t, 0, run(context.Background(), []string{"-h"}, io.Discard, nil))

	certFile, keyFile, pool := selfSigned(t, dir)
	state := filepath.Join(dir, "state.snap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan net.Addr, 1)
	exit := make(chan int, 1)
	var logBuf syncBuffer
	go func() {
		exit <- run(ctx, []string{"-offline", "-listen", "127.0.0.1:0", "-maildir", filepath.Join(dir, "Maildir"),
			"-hostname", "mx.run.test", "-state", state, "-tls-cert", certFile, "-tls-key", keyFile}, &logBuf, ready)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case code := <-exit:
		t.Fatalf("exited with %d: %s", code, logBuf.String())
	}
	c, err := smtp.Dial(addr.String())
	require.NoError(t, err)
	require.NoError(t, c.StartTLS(&tls.Config{ServerName: authservID, RootCAs: pool}))
	require.NoError(t, c.Mail("news@club.example.org"))
	require.NoError(t, c.Rcpt("alex@example.com"))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write(crlf(sample(t, "ham-newsletter.eml")))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit())
	cancel()
	require.Equal(t, 0, <-exit, logBuf.String())
	logs := logBuf.String()
	require.Contains(t, logs, "verdict=\"score=0.00; action=accept")
	require.Contains(t, logs, "msg=stopped")
	fi, err := os.Stat(state)
	require.NoError(t, err, "the learned state is saved at shutdown")
	require.Positive(t, fi.Size())
	ents, err := os.ReadDir(filepath.Join(dir, "Maildir", "new"))
	require.NoError(t, err)
	require.Len(t, ents, 1)
	b, err := os.ReadFile(filepath.Join(dir, "Maildir", "new", ents[0].Name()))
	require.NoError(t, err)
	require.Contains(t, string(b), "Authentication-Results: mx.run.test;", "authserv-id defaults to -hostname")
}

// syncBuffer is a strings.Builder safe for the server's goroutines.
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

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
