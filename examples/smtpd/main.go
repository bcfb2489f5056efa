// Command smtpd is a small SMTP server (RFC 5321) that shows how a mail
// server embeds mailscore: it receives mail, builds the envelope from the
// real session (the client's address from the connection, HELO/EHLO,
// MAIL FROM, RCPT TO), scores each message with the same checks as the
// mailscore CLI, and answers by the verdict:
//
//	accept  250, delivered with Authentication-Results and X-Mailscore on top
//	tag     250, delivered with those fields and X-Spam-Flag: YES
//	defer   451 4.7.1 and a short reason (checks that did not finish)
//	reject  550 5.7.1 and the dominant factor's reason
//
// Delivery writes each accepted message into a Maildir (tmp/, new/, cur/)
// as it came over the wire (CRLF line breaks), with Return-Path, the
// scoring fields and a Received field prepended; fields that arrived
// claiming to be this server's (its Authentication-Results, X-Mailscore,
// X-Spam-Flag) are removed first (RFC 8601 section 5).
//
// Run it:
//
//	go run ./examples/smtpd -listen 127.0.0.1:2525 -maildir /tmp/Maildir -offline
//	swaks --server 127.0.0.1:2525 --to you@example.com --data examples/testdata/gtube.eml
//
// -offline makes no DNS lookups (the DNS-based checks then report
// themselves incomplete, which is never held against a message); without
// it the system's resolver, or -dns, is used.
//
// Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
// ENHANCEDSTATUSCODES (RFC 2034), and STARTTLS (RFC 3207) when -tls-cert
// and -tls-key are given. The null sender <> is accepted; SMTPUTF8 is not
// offered, so non-ASCII addresses get 553 5.6.7.
//
// Line breaks: commands may end in CRLF or a bare LF. Message data must use
// CRLF (RFC 5321 section 2.3.8): by default a bare LF in the data is
// answered with 554 5.5.2 and the connection is closed (as Postfix's
// smtpd_forbid_bare_newline does); with -bare-lf=accept it is kept as
// data. Either way only <CRLF>.<CRLF> ends the data, never <LF>.<LF> or
// <LF>.<CRLF>, so a second message cannot be smuggled inside the first.
// Dot-stuffing is undone (RFC 5321 section 4.5.2).
//
// Limits: -max-size (announced with SIZE; 552 5.3.4 when exceeded, before
// or after the data), -max-line for lines of message data (552 5.3.4),
// 1024 octets for a command line (500 5.5.2), -max-rcpt recipients per
// message (452 4.5.3 for the rest), -max-msgs messages and 10 failed
// commands per session (then 421), -cmd-timeout for each wait for the
// client and -data-timeout for the whole DATA phase (421 4.4.2), and
// -max-conns sessions at once, -max-per-ip from one address (421 4.3.2
// to the rest).
//
// SIGINT or SIGTERM shuts the server down gracefully: it stops accepting,
// tells sessions that wait for a command 421, lets sessions in the middle
// of a message finish for up to -grace, and saves the learned state to
// -state if one was given.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/serve"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// run parses the flags, serves until ctx is done and returns the exit
// code: 0 after a clean shutdown, 1 on failure, 2 on bad usage. If ready
// is not nil it receives the listening address once the server accepts.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- net.Addr) int {
	fs := flag.NewFlagSet("smtpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := hostnameOr("localhost")
	cfg := wiring.Config{AuthservID: host}
	cfg.Register(fs)
	fs.Lookup("state").Usage = "file of learned state (written by mailscore learn): loaded at start, saved at shutdown"
	fs.Lookup("authserv-id").Usage = "authserv-id for Authentication-Results (default: -hostname)"
	var (
		listen   = fs.String("listen", "127.0.0.1:2525", "address to listen on")
		maildir  = fs.String("maildir", "", "Maildir to deliver accepted mail to (required)")
		hostname = fs.String("hostname", host, "name of this server in the greeting and Received fields")
		domains  = fs.String("domains", "", "recipient domains to accept, comma-separated (default: any)")
		maxSize  = fs.Int64("max-size", DefaultMaxSize, "largest message in octets (announced with SIZE)")
		maxLine  = fs.Int("max-line", mailscore.DefaultMaxLineLength, "longest line of message data in octets")
		maxRcpt  = fs.Int("max-rcpt", DefaultMaxRecipients, "recipients per message")
		maxMsgs  = fs.Int("max-msgs", DefaultMaxMessages, "messages per session")
		maxConns = fs.Int("max-conns", serve.DefaultMaxConns, "sessions at once")
		maxPerIP = fs.Int("max-per-ip", 20, "sessions at once from one client address (0: no limit)")
		cmdTO    = fs.Duration("cmd-timeout", DefaultCommandTimeout, "longest wait for a command or a block of data")
		dataTO   = fs.Duration("data-timeout", DefaultDataTimeout, "longest DATA phase")
		grace    = fs.Duration("grace", serve.DefaultGrace, "at shutdown, how long sessions may finish their message")
		bareLF   = fs.String("bare-lf", "reject", "bare LF in message data: reject (554, close) or accept (keep as data)")
		certFile = fs.String("tls-cert", "", "PEM certificate chain: offer STARTTLS")
		keyFile  = fs.String("tls-key", "", "PEM private key for -tls-cert")
		verbose  = fs.Bool("v", false, "log every session, not only messages")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: smtpd -maildir DIR [flags]\n\nReceives mail over SMTP, scores it with mailscore and answers and delivers by the verdict.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "smtpd: "+format+"\n", a...)
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["authserv-id"] {
		cfg.AuthservID = *hostname
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments %q", fs.Args())
	case *maildir == "":
		return usage("-maildir is required")
	case *bareLF != "reject" && *bareLF != "accept":
		return usage("-bare-lf must be reject or accept")
	case (*certFile == "") != (*keyFile == ""):
		return usage("-tls-cert and -tls-key go together")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var tlsConf *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Error("loading the TLS certificate", "err", err)
			return 1
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// The engine's reports of checks that could not finish (every DNS
	// check, offline) are debugging detail: the verdict's incomplete=
	// list says the same per message.
	var engineLog *slog.Logger
	if *verbose {
		engineLog = log
	}
	setup, err := wiring.New(&cfg, engineLog)
	if err != nil {
		if errors.Is(err, wiring.ErrUsage) {
			return usage("%v", err)
		}
		log.Error("building the engine", "err", err)
		return 1
	}
	srv, err := NewServer(Options{
		Setup: setup, Maildir: *maildir, Hostname: *hostname, AuthservID: cfg.AuthservID,
		Domains: wiring.SplitList(*domains), MaxSize: *maxSize, MaxLineLength: *maxLine,
		MaxRecipients: *maxRcpt, MaxMessages: *maxMsgs, CommandTimeout: *cmdTO, DataTimeout: *dataTO,
		AllowBareLF: *bareLF == "accept", TLS: tlsConf,
		MaxConns: *maxConns, MaxPerIP: *maxPerIP, Grace: *grace, Logger: log,
	})
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("listening", "err", err)
		return 1
	}
	log.Info("listening", "addr", ln.Addr().String(), "hostname", *hostname, "maildir", *maildir,
		"offline", cfg.Offline, "starttls", tlsConf != nil)
	if ready != nil {
		ready <- ln.Addr()
	}
	start := time.Now()
	err = srv.Serve(ctx, ln)
	code := 0
	if err != nil {
		log.Error("serving", "err", err)
		code = 1
	}
	if cfg.StatePath != "" {
		if err := setup.Save(cfg.StatePath); err != nil {
			log.Error("saving the learned state", "err", err)
			code = 1
		}
	}
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second))
	return code
}
