package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/serve"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// Options configure a Server. Zero fields take the defaults named.
type Options struct {
	// Setup scores the messages (required).
	Setup *wiring.Setup
	// Maildir is the folder messages are delivered to (required); its
	// tmp, new and cur subfolders are created.
	Maildir string
	// Hostname names this server in the greeting, the Received field and
	// the delivered files' names; default "localhost".
	Hostname string
	// AuthservID is the authserv-id of Authentication-Results; default
	// Hostname.
	AuthservID string
	// Domains, if not empty, are the recipient domains accepted (compared
	// case-insensitively); RCPT TO any other is refused with 550 5.7.1.
	Domains []string

	// MaxSize bounds a message in octets and is announced with SIZE
	// (RFC 1870); default 25 MiB.
	MaxSize int64
	// MaxLineLength bounds a line of message data, line break excluded;
	// default mailscore.DefaultMaxLineLength (RFC 5321 section 4.5.3.1.6
	// asks for at least 1000 octets with the break).
	MaxLineLength int
	// MaxRecipients bounds RCPT TO per message; default 100, the least
	// RFC 5321 section 4.5.3.1.8 allows.
	MaxRecipients int
	// MaxMessages bounds the messages of one session; default 100.
	MaxMessages int
	// MaxErrors is the number of failed commands after which a session is
	// closed with 421; default 10.
	MaxErrors int
	// CommandTimeout bounds the wait for a command, and for each read
	// within DATA; default 5 minutes (RFC 5321 section 4.5.3.2.7).
	CommandTimeout time.Duration
	// DataTimeout bounds the whole DATA phase; default 10 minutes.
	DataTimeout time.Duration
	// AllowBareLF keeps message data with bare LF line breaks instead of
	// refusing them (see dataReader.read).
	AllowBareLF bool

	// TLS, when set, enables STARTTLS (RFC 3207).
	TLS *tls.Config

	// MaxConns, MaxPerIP and Grace configure the accept loop (see
	// serve.Options).
	MaxConns, MaxPerIP int
	Grace              time.Duration

	// Logger receives one line per session event and per message; nil
	// discards.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxSize        = 25 << 20
	DefaultMaxRecipients  = 100
	DefaultMaxMessages    = 100
	DefaultMaxErrors      = 10
	DefaultCommandTimeout = 5 * time.Minute
	DefaultDataTimeout    = 10 * time.Minute

	// maxCommandLine bounds a command line, CRLF included: the 512 octets
	// of RFC 5321 section 4.5.3.1.4, plus room for the parameters of the
	// extensions announced (SIZE and BODY add at most 40).
	maxCommandLine = 1024
	// writeTimeout bounds the sending of replies to a client that does
	// not read them.
	writeTimeout = time.Minute
)

// Server is an SMTP server (RFC 5321) that scores each message with
// mailscore and answers, and delivers, by the verdict.
type Server struct {
	opts    Options
	log     *slog.Logger
	domains map[string]bool
	seq     atomic.Uint64 // delivered-file counter
	pid     int
}

// NewServer checks the options and prepares the Maildir.
func NewServer(opts Options) (*Server, error) {
	if opts.Setup == nil || opts.Setup.Engine == nil {
		return nil, errors.New("smtpd: Options.Setup is required")
	}
	if opts.Maildir == "" {
		return nil, errors.New("smtpd: Options.Maildir is required")
	}
	opts.Hostname = cmp.Or(opts.Hostname, "localhost")
	if !printable(opts.Hostname) {
		return nil, fmt.Errorf("smtpd: hostname %q is not printable ASCII", opts.Hostname)
	}
	opts.AuthservID = cmp.Or(opts.AuthservID, opts.Hostname)
	opts.MaxSize = cmp.Or(opts.MaxSize, DefaultMaxSize)
	opts.MaxLineLength = cmp.Or(opts.MaxLineLength, mailscore.DefaultMaxLineLength)
	opts.MaxRecipients = cmp.Or(opts.MaxRecipients, DefaultMaxRecipients)
	opts.MaxMessages = cmp.Or(opts.MaxMessages, DefaultMaxMessages)
	opts.MaxErrors = cmp.Or(opts.MaxErrors, DefaultMaxErrors)
	opts.CommandTimeout = cmp.Or(opts.CommandTimeout, DefaultCommandTimeout)
	opts.DataTimeout = cmp.Or(opts.DataTimeout, DefaultDataTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Logger, pid: os.Getpid()}
	if len(opts.Domains) > 0 {
		s.domains = map[string]bool{}
		for _, d := range opts.Domains {
			s.domains[strings.ToLower(strings.TrimSuffix(d, "."))] = true
		}
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(opts.Maildir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("smtpd: maildir: %w", err)
		}
	}
	return s, nil
}

// Serve answers SMTP sessions on ln until ctx is done, then shuts down
// gracefully: sessions waiting for a command get 421 at once, sessions
// in the middle of a message finish it (for up to the grace period).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return serve.Serve(ctx, ln, serve.Options{
		MaxConns: s.opts.MaxConns,
		MaxPerIP: s.opts.MaxPerIP,
		Grace:    s.opts.Grace,
		Logger:   s.log,
		Refuse: func(c net.Conn) {
			// RFC 5321 section 3.8: 421 and close when out of resources.
			fmt.Fprintf(c, "421 4.3.2 %s Too many connections, try again later\r\n", s.opts.Hostname)
		},
	}, s.session)
}

// newID returns a random identifier for a session or a message.
func newID() string {
	return rand.Text()[:12]
}
