package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/serve"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// session is one SMTP connection.
type session struct {
	srv  *Server
	c    *serve.Conn
	conn net.Conn // c, or the TLS connection over it after STARTTLS
	// Replies go through a textproto.Writer's buffer and are flushed only
	// when the client has sent nothing more, which is how a server takes
	// part in PIPELINING (RFC 2920 section 3.1). Commands are read from a
	// textproto.Reader's buffer with bounded reads: Reader.ReadLine has no
	// length limit.
	tr  *textproto.Reader
	tw  *textproto.Writer
	log *slog.Logger

	helo   string // the HELO/EHLO argument; "" before it
	esmtp  bool
	tls    bool
	errors int // failed commands
	msgs   int // messages received

	// The mail transaction (RFC 5321 section 3.3).
	inTx  bool
	from  string
	rcpts []string
}

// errShutdown ends a session because the server is shutting down.
var errShutdown = errors.New("server shutting down")

// errLineTooLong is a command line over maxCommandLine.
var errLineTooLong = errors.New("command line too long")

func (s *Server) session(ctx context.Context, c *serve.Conn) {
	ss := &session{srv: s, c: c, conn: c}
	ss.setConn(c)
	ss.log = s.log.With("session", newID(), "remote", c.Remote.String())
	ss.log.Debug("connect")
	ss.run(ctx)
	ss.log.Debug("disconnect", "messages", ss.msgs)
}

func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.tr = textproto.NewReader(bufio.NewReaderSize(c, 4096))
	ss.tw = textproto.NewWriter(bufio.NewWriterSize(c, 4096))
}

// run is the command loop.
func (ss *session) run(ctx context.Context) {
	host := ss.srv.opts.Hostname
	// RFC 5321 section 4.2: the greeting carries no enhanced status code
	// (RFC 2034 section 3).
	ss.reply(220, "", host+" ESMTP mailscore-smtpd")
	for {
		if err := ss.flush(false); err != nil {
			return
		}
		line, err := ss.readCommand()
		switch {
		case errors.Is(err, errLineTooLong):
			if ss.fail(500, "5.5.2", "Line too long") {
				return
			}
			continue
		case errors.Is(err, errShutdown):
			ss.bye(421, "4.3.2", host+" Service shutting down, closing connection")
			return
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ss.c.Draining() {
					ss.bye(421, "4.3.2", host+" Service shutting down, closing connection")
				} else {
					ss.bye(421, "4.4.2", host+" Error: timeout exceeded")
				}
			}
			return
		}
		if !ss.command(ctx, parseCommand(line)) {
			return
		}
	}
}

// readCommand reads one command line, waiting at most CommandTimeout.
// A line may end in CRLF or, leniently, a bare LF; the line break is
// removed.
func (ss *session) readCommand() (string, error) {
	_ = ss.conn.SetReadDeadline(time.Now().Add(ss.srv.opts.CommandTimeout))
	if !ss.c.Idle() {
		return "", errShutdown
	}
	defer ss.c.Busy()
	r := ss.tr.R
	var line []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			// Past the limit, the rest of the line is read and dropped.
			if tooLong || len(line)+len(chunk) > maxCommandLine {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
			if err == nil {
				break
			}
			continue
		}
		return "", err
	}
	if tooLong {
		return "", errLineTooLong
	}
	n := len(line) - 1
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return string(line[:n]), nil
}

// reply queues one reply line: code, enhanced status code (RFC 2034;
// omitted when enh is ""), text.
func (ss *session) reply(code int, enh, text string) {
	w := ss.tw.W
	w.WriteString(strconv.Itoa(code))
	w.WriteByte(' ')
	if enh != "" {
		w.WriteString(enh)
		w.WriteByte(' ')
	}
	w.WriteString(text)
	w.WriteString("\r\n")
}

// replyLines queues a multi-line reply (RFC 5321 section 4.2.1).
func (ss *session) replyLines(code int, lines []string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.tw.W, "%d%s%s\r\n", code, sep, l)
	}
}

// fail replies to a command that failed and counts it. It returns true
// when the session has had too many errors and was closed.
func (ss *session) fail(code int, enh, text string) bool {
	ss.reply(code, enh, text)
	ss.errors++
	if ss.errors >= ss.srv.opts.MaxErrors {
		ss.log.Info("too many errors", "errors", ss.errors)
		ss.bye(421, "4.7.0", ss.srv.opts.Hostname+" Error: too many errors")
		return true
	}
	return false
}

// bye sends a last reply and flushes it.
func (ss *session) bye(code int, enh, text string) {
	ss.reply(code, enh, text)
	_ = ss.flush(true)
}

// flush sends the queued replies when the client has nothing more
// buffered (or always, with force).
func (ss *session) flush(force bool) error {
	if !force && ss.tr.R.Buffered() > 0 {
		return nil
	}
	if ss.tw.W.Buffered() == 0 {
		return nil
	}
	_ = ss.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return ss.tw.W.Flush()
}

// resetTx ends the mail transaction (RFC 5321 section 4.1.1.5).
func (ss *session) resetTx() {
	ss.inTx, ss.from, ss.rcpts = false, "", nil
}

// command runs one command; false ends the session.
func (ss *session) command(ctx context.Context, cmd command) bool {
	o := &ss.srv.opts
	switch cmd.verb {
	case "EHLO", "HELO":
		return ss.hello(cmd)
	case "MAIL":
		return ss.mail(cmd.arg)
	case "RCPT":
		return ss.rcpt(cmd.arg)
	case "DATA":
		return ss.data(ctx, cmd.arg)
	case "RSET":
		if cmd.arg != "" {
			return !ss.fail(501, "5.5.4", "Syntax: RSET")
		}
		ss.resetTx()
		ss.reply(250, "2.0.0", "Ok")
	case "NOOP":
		ss.reply(250, "2.0.0", "Ok")
	case "QUIT":
		ss.bye(221, "2.0.0", o.Hostname+" Bye")
		return false
	case "VRFY":
		// RFC 5321 section 3.5.3.
		ss.reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
	case "HELP":
		ss.reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS (RFC 5321)")
	case "STARTTLS":
		return ss.startTLS(ctx, cmd.arg)
	case "EXPN", "AUTH", "BDAT", "ETRN", "TURN", "ATRN", "SEND", "SOML", "SAML", "VERB":
		return !ss.fail(502, "5.5.1", "Command not implemented")
	case "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS":
		// A web client (or a cross-protocol attack): say nothing more.
		ss.log.Info("HTTP request on the SMTP port; closing", "verb", cmd.verb)
		return false
	default:
		return !ss.fail(500, "5.5.2", "Command unrecognized")
	}
	return true
}

// hello answers HELO and EHLO (RFC 5321 section 4.1.1.1). The reply
// carries no enhanced status code (RFC 2034 section 3).
func (ss *session) hello(cmd command) bool {
	o := &ss.srv.opts
	f := strings.Fields(cmd.arg)
	if len(f) == 0 {
		return !ss.fail(501, "5.5.4", "Syntax: "+cmd.verb+" hostname")
	}
	if len(f[0]) > maxDomain || !printable(f[0]) {
		return !ss.fail(501, "5.5.4", "Invalid "+cmd.verb+" argument")
	}
	ss.resetTx()
	ss.helo = f[0]
	ss.esmtp = cmd.verb == "EHLO"
	if !ss.esmtp {
		ss.reply(250, "", o.Hostname)
		return true
	}
	lines := []string{
		o.Hostname + " greets " + ss.helo,
		"PIPELINING",                               // RFC 2920
		"SIZE " + strconv.FormatInt(o.MaxSize, 10), // RFC 1870
		"8BITMIME",            // RFC 6152
		"ENHANCEDSTATUSCODES", // RFC 2034
	}
	if o.TLS != nil && !ss.tls {
		lines = append(lines, "STARTTLS") // RFC 3207
	}
	ss.replyLines(250, lines)
	return true
}

// mail answers MAIL FROM (RFC 5321 section 4.1.1.2).
func (ss *session) mail(arg string) bool {
	o := &ss.srv.opts
	switch {
	case ss.helo == "":
		return !ss.fail(503, "5.5.1", "Error: send HELO/EHLO first")
	case ss.inTx:
		return !ss.fail(503, "5.5.1", "Error: nested MAIL command")
	case ss.msgs >= o.MaxMessages:
		ss.bye(421, "4.7.0", o.Hostname+" Error: too many messages in one session")
		return false
	}
	from, params, err := pathArg(arg, "FROM:", true)
	if err != nil {
		return !ss.pathError(err, "5.1.7")
	}
	for _, p := range params {
		switch p.key {
		case "SIZE": // RFC 1870 section 6
			n, err := parseSize(p.value)
			if err != nil {
				return !ss.fail(501, "5.5.4", "Bad SIZE parameter")
			}
			if n > o.MaxSize {
				return !ss.fail(552, "5.3.4", "Message size exceeds fixed maximum message size")
			}
		case "BODY": // RFC 6152 section 3
			if v := strings.ToUpper(p.value); v != "7BIT" && v != "8BITMIME" {
				return !ss.fail(501, "5.5.4", "Bad BODY parameter")
			}
		default:
			// RFC 5321 section 4.1.1.11.
			return !ss.fail(555, "5.5.4", "Unsupported parameter "+clip(p.key, 20))
		}
	}
	ss.inTx, ss.from, ss.rcpts = true, from, nil
	ss.reply(250, "2.1.0", "Ok")
	return true
}

// pathError replies to a bad MAIL or RCPT path; enh is the enhanced code
// for bad syntax (5.1.7 sender, 5.1.3 recipient, RFC 3463).
func (ss *session) pathError(err error, enh string) bool {
	switch {
	case errors.Is(err, errNonASCII):
		// RFC 6531 section 3.5: no SMTPUTF8, no non-ASCII addresses.
		return ss.fail(553, "5.6.7", "Non-ASCII addresses are not permitted")
	case errors.Is(err, errPathTooLong):
		return ss.fail(501, enh, "Address too long")
	}
	return ss.fail(501, enh, "Bad address syntax: "+strings.TrimPrefix(err.Error(), errSyntax.Error()+": "))
}

// rcpt answers RCPT TO (RFC 5321 section 4.1.1.3).
func (ss *session) rcpt(arg string) bool {
	o := &ss.srv.opts
	if !ss.inTx {
		return !ss.fail(503, "5.5.1", "Error: need MAIL command")
	}
	to, params, err := pathArg(arg, "TO:", false)
	if err != nil {
		return !ss.pathError(err, "5.1.3")
	}
	if len(params) > 0 {
		return !ss.fail(555, "5.5.4", "Unsupported parameter "+clip(params[0].key, 20))
	}
	if len(ss.rcpts) >= o.MaxRecipients {
		// RFC 5321 section 4.5.3.1.10: the client sends the rest later.
		ss.reply(452, "4.5.3", "Too many recipients")
		return true
	}
	if ss.srv.domains != nil && !strings.EqualFold(to, "postmaster") {
		domain := to[strings.LastIndexByte(to, '@')+1:]
		if !ss.srv.domains[strings.ToLower(strings.TrimSuffix(domain, "."))] {
			return !ss.fail(550, "5.7.1", "Relaying denied")
		}
	}
	ss.rcpts = append(ss.rcpts, to)
	ss.reply(250, "2.1.5", "Ok")
	return true
}

// data answers DATA (RFC 5321 section 4.1.1.4): reads the message, scores
// it and answers by the verdict.
func (ss *session) data(ctx context.Context, arg string) bool {
	o := &ss.srv.opts
	switch {
	case arg != "":
		return !ss.fail(501, "5.5.4", "Syntax: DATA")
	case !ss.inTx:
		return !ss.fail(503, "5.5.1", "Error: need MAIL command")
	case len(ss.rcpts) == 0:
		return !ss.fail(503, "5.5.1", "Error: need RCPT command")
	}
	ss.reply(354, "", "End data with <CR><LF>.<CR><LF>")
	if err := ss.flush(true); err != nil {
		return false
	}
	start := time.Now()
	d := dataReader{
		r:        ss.tr.R,
		maxSize:  o.MaxSize,
		maxLine:  o.MaxLineLength,
		allowLF:  o.AllowBareLF,
		deadline: deadlineEvery(ss.conn.SetReadDeadline, o.CommandTimeout, start.Add(o.DataTimeout)),
	}
	raw, err := d.read()
	defer ss.resetTx()
	if err != nil {
		code, enh, text := dataProblem(err, o.MaxSize, o.MaxLineLength)
		var ne net.Error
		switch {
		case errors.Is(err, errTooBig), errors.Is(err, errLongLine):
			ss.log.Info("message refused", "from", ss.from, "reason", err.Error())
			ss.reply(code, enh, text)
			return true
		case errors.Is(err, errBareLF):
			ss.log.Info("bare LF in message data; closing", "from", ss.from)
			ss.bye(code, enh, text)
		case errors.As(err, &ne) && ne.Timeout():
			ss.bye(421, "4.4.2", o.Hostname+" Error: timeout exceeded")
		default:
			ss.log.Info("connection lost in DATA", "err", err)
		}
		return false
	}
	ss.msgs++
	env := mailscore.Envelope{ClientIP: ss.c.Remote.Addr(), HELO: ss.helo, MailFrom: ss.from, RcptTo: ss.rcpts}
	r := ss.srv.receive(ctx, ss, env, raw)
	ss.reply(r.Code, r.Enhanced, r.Text)
	return true
}

// startTLS answers STARTTLS (RFC 3207 section 4).
func (ss *session) startTLS(ctx context.Context, arg string) bool {
	o := &ss.srv.opts
	switch {
	case o.TLS == nil:
		return !ss.fail(502, "5.5.1", "Command not implemented")
	case ss.tls:
		return !ss.fail(503, "5.5.1", "Error: TLS already active")
	case arg != "":
		return !ss.fail(501, "5.5.4", "Syntax: STARTTLS")
	}
	ss.reply(220, "2.0.0", "Ready to start TLS")
	if err := ss.flush(true); err != nil {
		return false
	}
	if n := ss.tr.R.Buffered(); n > 0 {
		// Commands sent in the clear after STARTTLS must not be taken
		// as sent over TLS (the CVE-2011-0411 class of injection): they
		// are dropped with the plain-text buffer.
		ss.log.Warn("discarding plain-text input pipelined after STARTTLS", "octets", n)
	}
	tc := tls.Server(ss.c, o.TLS)
	hctx, cancel := context.WithTimeout(ctx, o.CommandTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		ss.log.Info("TLS handshake failed", "err", err)
		return false
	}
	ss.setConn(tc)
	// RFC 3207 section 4.2: forget what the client said before.
	ss.tls, ss.helo, ss.esmtp = true, "", false
	ss.resetTx()
	st := tc.ConnectionState()
	ss.log.Debug("TLS started", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return true
}

// receive scores a message and delivers it when the verdict accepts or
// tags it; it returns the reply to the end of DATA.
func (s *Server) receive(ctx context.Context, ss *session, env mailscore.Envelope, raw []byte) wiring.Reply {
	start := time.Now()
	id := newID()
	log := ss.log.With("id", id, "from", env.MailFrom, "rcpts", len(env.RcptTo), "size", len(raw))
	msg, err := mailscore.NewMessage(env, raw, mailscore.Limits{MaxSize: int(s.opts.MaxSize), MaxLineLength: s.opts.MaxLineLength})
	if err != nil {
		log.Info("message refused", "reason", err.Error())
		switch {
		case errors.Is(err, mailscore.ErrEmptyMessage):
			return wiring.Reply{Code: 554, Enhanced: "5.6.0", Text: "Message is empty"}
		case errors.Is(err, mailscore.ErrLimit):
			return wiring.Reply{Code: 552, Enhanced: "5.3.4", Text: wiring.SafeText("Message exceeds a limit: "+limitText(err), wiring.MaxReplyText)}
		}
		return wiring.Reply{Code: 554, Enhanced: "5.6.0", Text: "Message could not be parsed"}
	}
	res := s.opts.Setup.Score(ctx, msg)
	v := &res.Verdict
	reply := wiring.VerdictReply(v, id)
	file := ""
	if v.Action == mailscore.ActionAccept || v.Action == mailscore.ActionTag {
		file, err = s.deliver(msg, &res, ss.helo, ss.tls, id)
		if err != nil {
			log.Error("delivery failed", "err", err)
			return wiring.Reply{Code: 451, Enhanced: "4.3.0", Text: "Error: could not store the message; try again later"}
		}
	}
	log.Info("message", "action", v.Action.String(), "score", round2(v.Score), "verdict", v.HeaderValue(),
		"reply", reply.String(), "file", file, "took", time.Since(start).Round(time.Millisecond))
	return reply
}

func round2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// limitText names the limit a message broke.
func limitText(err error) string {
	var le *mailscore.LimitError
	if errors.As(err, &le) {
		return fmt.Sprintf("%v (limit %d)", le.Kind, le.Limit)
	}
	return err.Error()
}

// hostnameOr returns the machine's host name, or def.
func hostnameOr(def string) string {
	h, err := os.Hostname()
	if err != nil || h == "" || !printable(h) {
		return def
	}
	return h
}
