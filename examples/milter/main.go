// Command milter is a mail filter for Postfix and Sendmail (the milter
// protocol, version 6) that scores each message with mailscore, using the
// same checks as the mailscore CLI, and acts by the verdict:
//
//	accept  the message goes on with Authentication-Results and X-Mailscore on top
//	tag     the same, and X-Spam-Flag: YES
//	defer   the MTA answers 451 4.7.1 with a short reason (SMFIR_REPLYCODE)
//	reject  the MTA answers 550 5.7.1 with the dominant factor's reason
//
// Fields that arrived with the message claiming to be this filter's (its
// Authentication-Results, X-Mailscore, X-Spam-Flag) are deleted first
// (RFC 8601 section 5) when the MTA allows header changes.
//
// Run it beside Postfix:
//
//	go run ./examples/milter -listen 127.0.0.1:8895 -authserv-id mx.example.com
//
// and in Postfix's main.cf:
//
//	smtpd_milters = inet:127.0.0.1:8895
//	milter_default_action = accept     # or tempfail: what to do when the filter is down
//
// -listen also takes unix:/path/to/socket (then smtpd_milters =
// unix:/path/to/socket). -offline makes no DNS lookups: the DNS-based
// checks report themselves incomplete, which is never held against a
// message.
//
// The envelope comes from the MTA: the client address from SMFIC_CONNECT,
// HELO, MAIL FROM and RCPT TO from their commands. The message is rebuilt
// from the header fields and body chunks the MTA passes.
//
// Limits: -max-size octets of a message are read (a larger message is let
// through unscored and the MTA is asked to skip the rest of its body),
// 1000 header fields, 1000 recipients kept, 1 MiB per packet, -read-timeout
// for each packet and -write-timeout for each reply, -max-conns MTA
// connections at once. Malformed packets end the connection (the MTA then
// applies its default action).
//
// SIGINT or SIGTERM shuts the filter down gracefully: it stops accepting,
// closes connections that are between messages, and lets messages being
// read finish for up to -grace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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
// is not nil it receives the listening address once the filter accepts.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- net.Addr) int {
	fs := flag.NewFlagSet("milter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = wiring.DefaultAuthservID
	}
	cfg := wiring.Config{AuthservID: host}
	cfg.Register(fs)
	fs.Lookup("state").Usage = "file of learned state (written by mailscore learn): loaded at start, saved at shutdown"
	var (
		listen   = fs.String("listen", "127.0.0.1:8895", "address to listen on: host:port or unix:/path")
		maxSize  = fs.Int("max-size", DefaultMaxSize, "largest message scored, in octets (larger ones pass unscored)")
		maxConns = fs.Int("max-conns", serve.DefaultMaxConns, "MTA connections at once")
		readTO   = fs.Duration("read-timeout", DefaultReadTimeout, "longest wait for the MTA's next packet")
		writeTO  = fs.Duration("write-timeout", DefaultWriteTimeout, "longest time to send a reply")
		grace    = fs.Duration("grace", serve.DefaultGrace, "at shutdown, how long messages being read may finish")
		verbose  = fs.Bool("v", false, "log connections and the checks' failures too")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: milter [flags]\n\nA milter (Postfix, Sendmail) that scores each message with mailscore and adds\nthe verdict's header fields, or rejects or defers the message.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "milter: unexpected arguments %q\n", fs.Args())
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var engineLog *slog.Logger
	if *verbose {
		engineLog = log
	}
	setup, err := wiring.New(&cfg, engineLog)
	if err != nil {
		if errors.Is(err, wiring.ErrUsage) {
			fmt.Fprintf(stderr, "milter: %v\n", err)
			return 2
		}
		log.Error("building the engine", "err", err)
		return 1
	}
	m, err := New(Options{Setup: setup, AuthservID: cfg.AuthservID, MaxSize: *maxSize, ReadTimeout: *readTO,
		WriteTimeout: *writeTO, MaxConns: *maxConns, Grace: *grace, Logger: log})
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	ln, err := listenOn(*listen)
	if err != nil {
		log.Error("listening", "err", err)
		return 1
	}
	log.Info("listening", "addr", ln.Addr().String(), "authserv_id", cfg.AuthservID, "offline", cfg.Offline)
	if ready != nil {
		ready <- ln.Addr()
	}
	start := time.Now()
	code := 0
	if err := m.Serve(ctx, ln); err != nil {
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

// listenOn listens on host:port, or on a Unix socket for "unix:/path"
// (a stale socket left by an earlier run is removed; any other file there
// is an error).
func listenOn(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another filter is listening there", path)
		}
		os.Remove(path)
	}
	return net.Listen("unix", path)
}
