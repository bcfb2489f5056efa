// Package wiring builds the mailscore engine that the example programs
// (the mailscore CLI, the SMTP server and the milter) share: every check of
// the library configured from one set of flags, learned state kept in one
// file, scoring that keeps the authentication results for the
// Authentication-Results field, and the mapping from a verdict to an SMTP
// reply and header fields.
//
// The shortest use:
//
//	var cfg wiring.Config
//	cfg.Register(flag.CommandLine)
//	flag.Parse()
//	s, err := wiring.New(&cfg, logger)
//	res := s.Score(ctx, msg)
//	fmt.Println(res.Verdict.HeaderValue(), res.AuthResults(cfg.AuthservID))
package wiring

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth"
	"github.com/mailscore/mailscore/auth/spf"
	"github.com/mailscore/mailscore/content"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/internal/snapshot"
	"github.com/mailscore/mailscore/reputation"
	"github.com/mailscore/mailscore/urlcheck"
)

// ErrUsage marks an error in the flags: the programs exit with status 2.
var ErrUsage = errors.New("usage")

// DefaultAuthservID is the authserv-id used when none is configured.
const DefaultAuthservID = "mailscore.local"

// Config holds the settings every program that scores mail shares. Its
// zero value, after Register's defaults, scores with every check and the
// system's DNS servers.
type Config struct {
	Offline    bool          // make no network lookups
	DNSServers string        // comma-separated host[:port]; "" means /etc/resolv.conf
	Timeout    time.Duration // deadline for the checks of one message
	StatePath  string        // file of learned state ("" means none)
	AuthservID string        // authserv-id for Authentication-Results (RFC 8601 section 2.5)
	DNSBL      string        // IP DNS lists, comma-separated preset names
	URIBL      string        // URI DNS lists, comma-separated preset names
	Protect    string        // domains whose look-alikes in links are flagged
	Follow     bool          // follow links to their landing pages
	SelfLearn  bool          // learn (at low weight) from the engine's own confident verdicts
	// ReadOnly stops the reputation check from counting the messages it
	// sees (scoring a corpus is not traffic). Not a flag.
	ReadOnly bool
}

// Register adds the shared flags to fs. A field that already holds a value
// (AuthservID, Timeout) makes that value the flag's default, so a program
// can choose its own default; a program can also change a flag's help text
// through fs.Lookup(name).Usage.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.BoolVar(&c.Offline, "offline", c.Offline, "make no network lookups: DNS-based checks report themselves incomplete")
	fs.StringVar(&c.DNSServers, "dns", c.DNSServers, "DNS servers, comma-separated host[:port] (default: /etc/resolv.conf)")
	fs.DurationVar(&c.Timeout, "timeout", cmp.Or(c.Timeout, 10*time.Second), "deadline for the checks of one message")
	fs.StringVar(&c.StatePath, "state", c.StatePath, "file holding what the learning checks learned (loaded if present; learn saves it)")
	fs.StringVar(&c.DNSBL, "dnsbl", c.DNSBL, "IP DNS lists to query: zen,spamcop,barracuda,mailspike,dnswl (default none)")
	fs.StringVar(&c.URIBL, "uribl", c.URIBL, "URI DNS lists to query: dbl,surbl,uribl (default none)")
	fs.StringVar(&c.Protect, "protect", c.Protect, "domains whose look-alikes in links are flagged, comma-separated")
	fs.BoolVar(&c.Follow, "follow", c.Follow, "follow links to their landing pages (tells the links' owners the message arrived)")
	fs.BoolVar(&c.SelfLearn, "self-learn", c.SelfLearn, "learn, at a low weight, from the engine's own confident verdicts (complete, score >= 15 or <= -3)")
	fs.StringVar(&c.AuthservID, "authserv-id", cmp.Or(c.AuthservID, DefaultAuthservID), "authserv-id for Authentication-Results")
}

// Resolver returns the DNS resolver the flags ask for: dnsutil.Offline
// with -offline, else a caching client of the given (or the system's)
// servers.
func (c *Config) Resolver() (dnsutil.Resolver, error) {
	if c.Offline {
		return dnsutil.Offline{}, nil
	}
	var servers []string
	for _, s := range strings.Split(c.DNSServers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	return dnsutil.New(dnsutil.Options{Servers: servers})
}

// SplitList splits a comma-separated flag value into lower-case names.
func SplitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.ToLower(strings.TrimSpace(x)); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// stateful is a check whose learned state can be saved and loaded.
type stateful interface {
	Save(w io.Writer) error
	Load(r io.Reader) error
}

// Setup is an engine with the checks the configuration asked for, and the
// parts of it that keep learned state. A Setup built by hand (only Engine
// set) scores without Authentication-Results and keeps no state.
type Setup struct {
	// Engine runs the checks.
	Engine *mailscore.Engine
	// Auth is the authentication check inside Engine (nil if none).
	Auth  *auth.Checker
	state map[string]stateful // by section name in the state file
}

// uriLists maps -uribl names to dnsutil's presets.
func uriLists(names []string) ([]dnsutil.Blocklist, error) {
	var out []dnsutil.Blocklist
	for _, n := range names {
		switch n {
		case "dbl":
			out = append(out, dnsutil.SpamhausDBL())
		case "surbl":
			out = append(out, dnsutil.SURBL())
		case "uribl":
			out = append(out, dnsutil.URIBL())
		default:
			return nil, fmt.Errorf("%w: -uribl: unknown list %q (want dbl, surbl, uribl)", ErrUsage, n)
		}
	}
	return out, nil
}

// buildChecks configures every check of the library: authentication,
// reputation, content and URLs. Learned state lives in the reputation
// store, the content classifier and the URL checker.
func (s *Setup) buildChecks(cfg *Config, r dnsutil.Resolver) ([]mailscore.Check, error) {
	a, err := auth.New(auth.Options{Resolver: r, SPF: spf.Options{Receiver: cfg.AuthservID}})
	if err != nil {
		return nil, err
	}
	s.Auth = a

	var lists []reputation.DNSList
	if names := SplitList(cfg.DNSBL); len(names) > 0 {
		if lists, err = reputation.PresetLists(names...); err != nil {
			return nil, fmt.Errorf("%w: -dnsbl: %v", ErrUsage, err)
		}
	}
	store := reputation.NewMemStore(reputation.MemStoreOptions{})
	rep, err := reputation.New(reputation.Options{Store: store, Resolver: r, Lists: lists, ReadOnly: cfg.ReadOnly})
	if err != nil {
		return nil, err
	}
	s.state["reputation"] = store

	cc, err := content.New(content.Options{})
	if err != nil {
		return nil, err
	}
	s.state["content"] = cc

	ul, err := uriLists(SplitList(cfg.URIBL))
	if err != nil {
		return nil, err
	}
	uo := urlcheck.Options{URIBlocklists: ul, Protected: SplitList(cfg.Protect)}
	if cfg.Follow {
		uo.Follower = urlcheck.NewFollower(urlcheck.FollowerOptions{Resolver: r})
	}
	uc, err := urlcheck.New(r, uo)
	if err != nil {
		return nil, err
	}
	s.state["urlcheck"] = uc
	return []mailscore.Check{&authCapture{a}, rep, cc, uc}, nil
}

// New builds the engine the configuration describes and loads the state
// file if one is named and present. The logger (nil: none) receives the
// engine's reports of failed checks.
func New(cfg *Config, logger *slog.Logger) (*Setup, error) {
	r, err := cfg.Resolver()
	if err != nil {
		return nil, err
	}
	s := &Setup{state: map[string]stateful{}}
	checks, err := s.buildChecks(cfg, r)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if cfg.Follow {
		// Following links takes up to 6 s per message before the URL
		// checker's own DNS work; give it room.
		timeout = max(timeout, 15*time.Second)
	}
	opts := mailscore.EngineOptions{Timeout: timeout, Logger: logger}
	if cfg.SelfLearn {
		opts.SelfLearn = &mailscore.SelfLearn{}
	}
	s.Engine, err = mailscore.NewEngine(opts, checks...)
	if err != nil {
		return nil, err
	}
	if cfg.StatePath != "" {
		if err := s.Load(cfg.StatePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return s, nil
}

// Learns reports whether some check of the setup keeps learned state.
func (s *Setup) Learns() bool { return len(s.state) > 0 }

// Scored is a verdict with the authentication results behind it.
type Scored struct {
	Verdict mailscore.Verdict
	// Auth holds the results of the "auth" check as it ran inside the
	// engine; nil when the check did not finish before the deadline (or
	// the setup has none).
	Auth *auth.Results
}

// AuthResults returns the one-line Authentication-Results value for the
// authserv-id, or "" without results.
func (r *Scored) AuthResults(authservID string) string {
	if r.Auth == nil {
		return ""
	}
	return r.Auth.AuthResults(authservID)
}

// AuthResultsField returns the whole folded "Authentication-Results: ..."
// field ending in CRLF, or "" without results.
func (r *Scored) AuthResultsField(authservID string) string {
	if r.Auth == nil {
		return ""
	}
	return r.Auth.AuthResultsField(authservID)
}

// Score scores msg. The authentication results come from the same run as
// the verdict (the auth check is not run twice), so the two always agree.
func (s *Setup) Score(ctx context.Context, msg *mailscore.Message) Scored {
	slot := &resultSlot{}
	v := s.Engine.Score(context.WithValue(ctx, slotKey{}, slot), msg)
	return Scored{Verdict: v, Auth: slot.get()}
}

// slotKey is the context key of a Score call's resultSlot.
type slotKey struct{}

// resultSlot receives the auth results of one Score call. A check still
// running when the engine gives up may fill it after Score returned; the
// mutex keeps that harmless.
type resultSlot struct {
	mu  sync.Mutex
	res *auth.Results
}

func (r *resultSlot) set(res *auth.Results) {
	r.mu.Lock()
	r.res = res
	r.mu.Unlock()
}

func (r *resultSlot) get() *auth.Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// authCapture is the auth check, keeping its results for the Score call
// that ran it (found through the context the engine passes down).
type authCapture struct{ *auth.Checker }

// Check implements mailscore.Check.
func (a *authCapture) Check(ctx context.Context, msg *mailscore.Message, _ []mailscore.Signal) ([]mailscore.Signal, error) {
	res, err := a.Evaluate(ctx, msg)
	if slot, ok := ctx.Value(slotKey{}).(*resultSlot); ok {
		slot.set(res)
	}
	return res.Signals(), err
}

// The state file is one checksummed snapshot (internal/snapshot) holding
// a section per learning check: the check's name and its saved state, each
// preceded by its length.
const stateKind = "mailscore-cli-state"

// maxStateSize bounds the state file Load reads.
const maxStateSize = 4 << 30

// Save writes what the learning checks learned to path, atomically.
func (s *Setup) Save(path string) error {
	names := make([]string, 0, len(s.state))
	for name := range s.state {
		names = append(names, name)
	}
	slices.Sort(names)
	return snapshot.WriteFile(path, stateKind, 1, func(w io.Writer) error {
		for _, name := range names {
			var body bytes.Buffer
			if err := s.state[name].Save(&body); err != nil {
				return fmt.Errorf("saving %s: %w", name, err)
			}
			var hdr []byte
			hdr = binary.AppendUvarint(hdr, uint64(len(name)))
			hdr = append(hdr, name...)
			hdr = binary.AppendUvarint(hdr, uint64(body.Len()))
			if _, err := w.Write(hdr); err != nil {
				return err
			}
			if _, err := w.Write(body.Bytes()); err != nil {
				return err
			}
		}
		return nil
	})
}

// Load reads a state file written by Save into the learning checks.
// Sections of checks this setup does not have are skipped; a damaged file
// is refused.
func (s *Setup) Load(path string) error {
	payload, _, err := snapshot.ReadFile(path, stateKind, maxStateSize)
	if err != nil {
		return err
	}
	for len(payload) > 0 {
		name, rest, err := section(payload)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		body, rest, err := section(rest)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		payload = rest
		st, ok := s.state[string(name)]
		if !ok {
			continue // a check not enabled this time
		}
		if err := st.Load(bytes.NewReader(body)); err != nil {
			return fmt.Errorf("%s: loading %s state: %w", path, name, err)
		}
	}
	return nil
}

// section cuts one length-prefixed section off b.
func section(b []byte) (sec, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errors.New("state file: bad section length")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
