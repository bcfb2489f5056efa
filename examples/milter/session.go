package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/serve"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// Options configure a Milter. Zero fields take the defaults named.
type Options struct {
	// Setup scores the messages (required).
	Setup *wiring.Setup
	// AuthservID is the authserv-id of Authentication-Results; default
	// wiring.DefaultAuthservID.
	AuthservID string
	// MaxSize bounds the message this filter reads in octets (header and
	// body as the MTA passes them); a larger message is let through
	// unscored. Default 25 MiB.
	MaxSize int
	// MaxHeaders bounds the header fields of a message; more make it
	// unscored, like an oversized one. Default mailscore.DefaultMaxFields.
	MaxHeaders int
	// MaxRecipients bounds the recipients kept per message (the rest are
	// counted, not kept); default 1000.
	MaxRecipients int
	// ReadTimeout bounds the wait for the MTA's next packet (the MTA
	// waits on its SMTP client between packets); default 10 minutes.
	ReadTimeout time.Duration
	// WriteTimeout bounds the sending of a reply; default 30 seconds.
	WriteTimeout time.Duration
	// MaxConns and Grace configure the accept loop (see serve.Options).
	MaxConns int
	Grace    time.Duration
	// Logger receives a line per message; nil discards.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxSize       = 25 << 20
	DefaultMaxRecipients = 1000
	DefaultReadTimeout   = 10 * time.Minute
	DefaultWriteTimeout  = 30 * time.Second
	maxMacros            = 256 // macros kept per connection
)

// Milter is a mail filter that scores each message with mailscore.
type Milter struct {
	opts Options
	log  *slog.Logger
}

// New checks the options.
func New(opts Options) (*Milter, error) {
	if opts.Setup == nil || opts.Setup.Engine == nil {
		return nil, errors.New("milter: Options.Setup is required")
	}
	opts.AuthservID = cmp.Or(opts.AuthservID, wiring.DefaultAuthservID)
	opts.MaxSize = cmp.Or(opts.MaxSize, DefaultMaxSize)
	opts.MaxHeaders = cmp.Or(opts.MaxHeaders, mailscore.DefaultMaxFields)
	opts.MaxRecipients = cmp.Or(opts.MaxRecipients, DefaultMaxRecipients)
	opts.ReadTimeout = cmp.Or(opts.ReadTimeout, DefaultReadTimeout)
	opts.WriteTimeout = cmp.Or(opts.WriteTimeout, DefaultWriteTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Milter{opts: opts, log: opts.Logger}, nil
}

// Serve answers MTA connections on ln until ctx is done, then shuts down
// gracefully: connections between messages are closed at once (the MTA
// applies its default action, Postfix's milter_default_action, to
// messages after that), connections in the middle of a message finish it
// for up to the grace period.
func (m *Milter) Serve(ctx context.Context, ln net.Listener) error {
	return serve.Serve(ctx, ln, serve.Options{MaxConns: m.opts.MaxConns, Grace: m.opts.Grace, Logger: m.log}, m.session)
}

// header is a header field as the MTA passed it.
type header struct{ name, value string }

// session is one connection from the MTA: a negotiation, then SMTP
// connections (several, with SMFIC_QUIT_NC between them), each with
// messages.
type session struct {
	m   *Milter
	c   *serve.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	log *slog.Logger
	buf []byte

	negotiated bool
	version    uint32 // protocol version agreed
	actions    uint32 // modifications agreed
	proto      uint32 // protocol steps agreed

	// The SMTP connection.
	clientIP netip.Addr
	hostname string
	helo     string
	macros   map[string]string

	// The message.
	inMsg    bool
	from     string
	rcpts    []string
	nrcpt    int
	headers  []header
	size     int // octets of header and body received
	body     []byte
	tooBig   bool
	skipSent bool
}

// errQuit ends a session normally.
var errQuit = errors.New("quit")

func (m *Milter) session(ctx context.Context, c *serve.Conn) {
	s := &session{m: m, c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 4096),
		log: m.log.With("conn", c.Remote.String()), macros: map[string]string{}}
	err := s.run(ctx)
	switch {
	case err == nil, errors.Is(err, errQuit):
	case errors.Is(err, errShutdown):
		s.log.Info("closing at shutdown")
	default:
		s.log.Warn("connection ended", "err", err)
	}
}

// errShutdown ends a session that was between messages at shutdown.
var errShutdown = errors.New("shutting down")

// run reads and answers packets until the MTA quits or an error.
func (s *session) run(ctx context.Context) error {
	for {
		_ = s.c.SetReadDeadline(time.Now().Add(s.m.opts.ReadTimeout))
		idle := !s.inMsg
		if idle && !s.c.Idle() {
			return errShutdown
		}
		cmd, data, buf, err := readPacket(s.r, s.buf, maxPacket)
		s.buf = buf
		if idle {
			s.c.Busy()
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && s.c.Draining() {
				return errShutdown
			}
			return err
		}
		if err := s.handle(ctx, cmd, data); err != nil {
			return err
		}
		if s.w.Buffered() > 0 {
			_ = s.c.SetWriteDeadline(time.Now().Add(s.m.opts.WriteTimeout))
			if err := s.w.Flush(); err != nil {
				return err
			}
		}
	}
}

// reply queues a reply packet, unless the step was negotiated as one
// without a reply (noReply is its SMFIP_NR_* flag; 0 for none).
func (s *session) reply(noReply uint32, cmd byte, parts ...[]byte) error {
	if noReply != 0 && s.proto&noReply != 0 {
		return nil
	}
	return writePacket(s.w, cmd, parts...)
}

// handle acts on one packet.
func (s *session) handle(ctx context.Context, cmd byte, data []byte) error {
	if !s.negotiated && cmd != cmdOptNeg {
		return fmt.Errorf("%w: command %q before OPTNEG", errPacket, cmd)
	}
	switch cmd {
	case cmdOptNeg:
		return s.negotiate(data)
	case cmdMacro:
		_, pairs, err := decodeMacros(data, maxMacros)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			if _, ok := s.macros[p[0]]; ok || len(s.macros) < maxMacros {
				s.macros[p[0]] = clip(p[1], 256)
			}
		}
		return nil // macros get no reply
	case cmdConnect:
		ci, err := decodeConnect(data)
		if err != nil {
			return err
		}
		// The macros for this connection came just before it: keep them.
		s.resetClient()
		s.clientIP, s.hostname = ci.addr, clip(ci.hostname, 255)
		s.log = s.m.log.With("conn", s.c.Remote.String(), "client", ci.addr.String())
		s.log.Debug("client connected", "hostname", s.hostname, "family", string(rune(ci.family)))
		return s.reply(protoNoReplyConn, respContinue)
	case cmdHelo:
		helo, _, _ := cutNUL(data)
		s.helo = clip(helo, 255)
		return s.reply(protoNoReplyHelo, respContinue)
	case cmdMail:
		args := strs(data, 16)
		if len(args) == 0 {
			return fmt.Errorf("%w: MAIL without an address", errPacket)
		}
		s.resetMsg()
		s.inMsg, s.from = true, clip(angle(args[0]), 512)
		return s.reply(protoNoReplyMail, respContinue)
	case cmdRcpt:
		args := strs(data, 16)
		if len(args) == 0 {
			return fmt.Errorf("%w: RCPT without an address", errPacket)
		}
		s.nrcpt++
		if len(s.rcpts) < s.m.opts.MaxRecipients {
			s.rcpts = append(s.rcpts, clip(angle(args[0]), 512))
		}
		return s.reply(protoNoReplyRcpt, respContinue)
	case cmdData:
		return s.reply(protoNoReplyData, respContinue)
	case cmdUnknown:
		return s.reply(protoNoReplyUnkn, respContinue)
	case cmdHeader:
		name, value, err := decodeHeader(data)
		if err != nil {
			return err
		}
		s.size += len(name) + len(value) + 4
		if len(s.headers) >= s.m.opts.MaxHeaders || s.size > s.m.opts.MaxSize {
			s.tooBig, s.headers = true, nil
		}
		if !s.tooBig {
			s.headers = append(s.headers, header{name, value})
		}
		return s.reply(protoNoReplyHdr, respContinue)
	case cmdEOH:
		return s.reply(protoNoReplyEOH, respContinue)
	case cmdBody:
		return s.bodyChunk(data, true)
	case cmdEOB:
		if len(data) > 0 {
			if err := s.bodyChunk(data, false); err != nil {
				return err
			}
		}
		err := s.endOfMessage(ctx)
		s.resetMsg()
		return err
	case cmdAbort:
		s.resetMsg()
		return nil
	case cmdQuitNC:
		s.resetClient()
		clear(s.macros)
		return nil
	case cmdQuit:
		return errQuit
	}
	return fmt.Errorf("%w: unknown command %q", errPacket, cmd)
}

// negotiate answers SMFIC_OPTNEG: version 6 (or the MTA's, if older), the
// header modifications the MTA allows, and the protocol steps to skip.
func (s *session) negotiate(data []byte) error {
	if s.negotiated {
		return fmt.Errorf("%w: second OPTNEG", errPacket)
	}
	o, err := decodeOptNeg(data)
	if err != nil {
		return err
	}
	if o.version < 2 {
		return fmt.Errorf("%w: MTA speaks milter version %d", errPacket, o.version)
	}
	s.log.Debug("negotiating", "mta_version", o.version, "mta_actions", fmt.Sprintf("%#x", o.actions), "mta_protocol", fmt.Sprintf("%#x", o.protocol))
	s.negotiated = true
	s.version = min(o.version, protocolVersion)
	s.actions = o.actions & (actAddHeaders | actChangeHeaders)
	s.proto = o.protocol & wantProto
	if s.actions&actAddHeaders == 0 {
		s.log.Warn("the MTA does not let this filter add header fields: verdicts only")
	}
	return writePacket(s.w, respOptNeg, u32(s.version), u32(s.actions), u32(s.proto))
}

// bodyChunk keeps a chunk of the body, up to the size limit. Past it,
// the MTA is asked to send no more (SMFIR_SKIP) where it can take that.
func (s *session) bodyChunk(data []byte, replyNeeded bool) error {
	s.size += len(data)
	if s.size > s.m.opts.MaxSize {
		s.tooBig, s.body = true, nil
	}
	if !s.tooBig {
		s.body = append(s.body, data...)
	}
	if !replyNeeded {
		return nil
	}
	if s.tooBig && !s.skipSent && s.proto&protoSkip != 0 && s.proto&protoNoReplyBody == 0 {
		s.skipSent = true
		return writePacket(s.w, respSkip)
	}
	return s.reply(protoNoReplyBody, respContinue)
}

func (s *session) resetMsg() {
	s.inMsg, s.from, s.rcpts, s.nrcpt = false, "", nil, 0
	s.headers, s.size, s.body, s.tooBig, s.skipSent = nil, 0, nil, false, false
}

// resetClient forgets the SMTP client (a new one is connecting).
func (s *session) resetClient() {
	s.resetMsg()
	s.clientIP, s.hostname, s.helo = netip.Addr{}, "", ""
}

// message rebuilds the message the MTA passed: each header field as
// "name:" value CRLF (the space after the colon comes with the value when
// SMFIP_HDR_LEADSPC was agreed, else one is put back), folding turned back
// into CRLF, a blank line, the body.
func (s *session) message() []byte {
	n := len(s.body) + 2
	for _, h := range s.headers {
		n += len(h.name) + len(h.value) + 8
	}
	b := make([]byte, 0, n)
	for _, h := range s.headers {
		b = append(b, h.name...)
		b = append(b, ':')
		if s.proto&protoLeadSpace == 0 {
			b = append(b, ' ')
		}
		b = appendCRLF(b, h.value)
		b = append(b, '\r', '\n')
	}
	b = append(b, '\r', '\n')
	return append(b, s.body...)
}

// appendCRLF appends v with every bare LF made CRLF (MTAs pass folded
// header values with LF line breaks).
func appendCRLF(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == '\n' && (i == 0 || v[i-1] != '\r') {
			b = append(b, '\r')
		}
		b = append(b, v[i])
	}
	return b
}

// endOfMessage scores the message and answers SMFIC_BODYEOB.
func (s *session) endOfMessage(ctx context.Context) error {
	start := time.Now()
	o := &s.m.opts
	log := s.log.With("mta", s.macros["j"], "queue_id", s.macros["i"], "from", s.from, "rcpts", s.nrcpt, "size", s.size)
	if s.tooBig {
		log.Info("message not scored: over the size limit", "limit", o.MaxSize)
		return writePacket(s.w, respContinue)
	}
	env := mailscore.Envelope{ClientIP: s.clientIP, HELO: s.helo, MailFrom: s.from, RcptTo: s.rcpts}
	msg, err := mailscore.NewMessage(env, s.message(), mailscore.Limits{MaxSize: o.MaxSize + o.MaxSize/8})
	if err != nil {
		// The MTA has its own limits and policy; a message this filter
		// cannot read is let through, unscored.
		log.Warn("message not scored", "err", err)
		return writePacket(s.w, respContinue)
	}
	res := o.Setup.Score(ctx, msg)
	v := &res.Verdict
	r := wiring.VerdictReply(v, "")
	log = log.With("action", v.Action.String(), "score", fmt.Sprintf("%.2f", v.Score), "verdict", v.HeaderValue(),
		"took", time.Since(start).Round(time.Millisecond))
	switch v.Action {
	case mailscore.ActionReject, mailscore.ActionDefer:
		log.Info("message", "reply", r.String())
		// The MTA answers the client with this reply (SMFIR_REPLYCODE):
		// a 5xx rejects, a 4xx tempfails.
		return writePacket(s.w, respReplyCode, cstr(replyText(r)))
	}
	if err := s.modifyHeaders(&res); err != nil {
		return err
	}
	log.Info("message")
	return writePacket(s.w, respAccept)
}

// replyText formats a reply for SMFIR_REPLYCODE. Sendmail expands '%' in
// reply texts, so there is none.
func replyText(r wiring.Reply) string {
	return strings.ReplaceAll(r.String(), "%", " percent")
}

// modifyHeaders deletes the fields that claim to be this filter's
// (wiring.Forged, RFC 8601 section 5) and inserts the scoring fields at
// the top of the header.
func (s *session) modifyHeaders(res *wiring.Scored) error {
	o := &s.m.opts
	if s.actions&actChangeHeaders != 0 {
		// SMFIR_CHGHEADER counts a field's index among the fields of its
		// name, from 1; deleting from the last keeps the others' indexes.
		type del struct {
			name  string
			index int
		}
		var dels []del
		count := map[string]int{}
		for _, h := range s.headers {
			k := strings.ToLower(h.name)
			count[k]++
			if wiring.Forged(h.name, strings.TrimSpace(h.value), o.AuthservID) {
				dels = append(dels, del{h.name, count[k]})
			}
		}
		for i := len(dels) - 1; i >= 0; i-- {
			if err := writePacket(s.w, respChgHeader, u32(uint32(dels[i].index)), cstr(dels[i].name), cstr("")); err != nil {
				return err
			}
		}
	}
	if s.actions&actAddHeaders == 0 {
		return nil
	}
	lead := ""
	if s.proto&protoLeadSpace != 0 {
		lead = " " // the MTA adds no space after the colon
	}
	fields := wiring.Fields(res, o.AuthservID)
	if s.version < 3 {
		// No SMFIR_INSHEADER before version 3: append, in order.
		for _, f := range fields {
			if err := writePacket(s.w, respAddHeader, cstr(f.Name), cstr(lead+f.Value)); err != nil {
				return err
			}
		}
		return nil
	}
	// Each insertion at index 0 goes on top, so the last inserted ends
	// first: insert in reverse to keep wiring.Fields' order.
	for i := len(fields) - 1; i >= 0; i-- {
		f := fields[i]
		if err := writePacket(s.w, respInsHeader, u32(0), cstr(f.Name), cstr(lead+f.Value)); err != nil {
			return err
		}
	}
	return nil
}
