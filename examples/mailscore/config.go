package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// config holds the flags every command shares: the engine's (see
// wiring.Config) and the envelope and output flags of the CLI.
type config struct {
	wiring.Config
	jsonOut bool
	verbose bool

	ip, helo, from, rcpt string
	received             bool
}

func (c *config) register(fs *flag.FlagSet) {
	c.Config.Register(fs)
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	fs.BoolVar(&c.verbose, "v", false, "log check failures to stderr")
	fs.StringVar(&c.ip, "ip", "", "SMTP client IP address")
	fs.StringVar(&c.helo, "helo", "", "HELO/EHLO name the client gave")
	fs.StringVar(&c.from, "from", "", "MAIL FROM address (default: the message's Return-Path)")
	fs.StringVar(&c.rcpt, "rcpt", "", "RCPT TO addresses, comma-separated")
	fs.BoolVar(&c.received, "received", true, "without -ip, take the client IP and HELO from the first Received field with a public address")
}

func (c *config) envelope() (mailscore.Envelope, error) {
	var env mailscore.Envelope
	if c.ip != "" {
		ip, err := netip.ParseAddr(c.ip)
		if err != nil {
			return env, fmt.Errorf("%w: -ip: %v", errUsage, err)
		}
		env.ClientIP = ip
	}
	env.HELO = c.helo
	env.MailFrom = strings.Trim(c.from, "<>")
	for _, r := range strings.Split(c.rcpt, ",") {
		if r = strings.TrimSpace(r); r != "" {
			env.RcptTo = append(env.RcptTo, strings.Trim(r, "<>"))
		}
	}
	return env, nil
}

func (c *config) logger(stderr io.Writer) *slog.Logger {
	if !c.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newSetup builds the engine the flags ask for (see wiring.New).
func newSetup(cfg *config, stderr io.Writer) (*wiring.Setup, error) {
	return wiring.New(&cfg.Config, cfg.logger(stderr))
}
