package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// config holds the flags every command shares.
type config struct {
	offline    bool
	dnsServers string
	timeout    time.Duration
	statePath  string
	jsonOut    bool
	verbose    bool

	ip, helo, from, rcpt string
	authservID           string
	received             bool
	dnsbl, uribl         string
	protect              string
	follow               bool
	readOnly             bool // reputation counts no volume (eval)
}

func (c *config) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.offline, "offline", false, "make no network lookups: DNS-based checks report themselves incomplete")
	fs.StringVar(&c.dnsServers, "dns", "", "DNS servers, comma-separated host[:port] (default: /etc/resolv.conf)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "deadline for the checks of one message")
	fs.StringVar(&c.statePath, "state", "", "file holding what the learning checks learned (loaded if present; learn saves it)")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	fs.BoolVar(&c.verbose, "v", false, "log check failures to stderr")
	fs.StringVar(&c.ip, "ip", "", "SMTP client IP address")
	fs.StringVar(&c.helo, "helo", "", "HELO/EHLO name the client gave")
	fs.StringVar(&c.from, "from", "", "MAIL FROM address (default: the message's Return-Path)")
	fs.StringVar(&c.rcpt, "rcpt", "", "RCPT TO addresses, comma-separated")
	fs.BoolVar(&c.received, "received", true, "without -ip, take the client IP and HELO from the first Received field with a public address")
	fs.StringVar(&c.dnsbl, "dnsbl", "", "IP DNS lists to query: zen,spamcop,barracuda,mailspike,dnswl (default none)")
	fs.StringVar(&c.uribl, "uribl", "", "URI DNS lists to query: dbl,surbl,uribl (default none)")
	fs.StringVar(&c.protect, "protect", "", "domains whose look-alikes in links are flagged, comma-separated")
	fs.BoolVar(&c.follow, "follow", false, "follow links to their landing pages (tells the links' owners the message arrived)")
	fs.StringVar(&c.authservID, "authserv-id", "mailscore.local", "authserv-id for Authentication-Results")
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

func (c *config) resolver() (dnsutil.Resolver, error) {
	if c.offline {
		return dnsutil.Offline{}, nil
	}
	var servers []string
	for _, s := range strings.Split(c.dnsServers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	return dnsutil.New(dnsutil.Options{Servers: servers})
}

// splitList splits a comma-separated flag value into lower-case names.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.ToLower(strings.TrimSpace(x)); x != "" {
			out = append(out, x)
		}
	}
	return out
}
