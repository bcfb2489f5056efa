package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
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

// stateful is a check whose learned state can be saved and loaded.
type stateful interface {
	Save(w io.Writer) error
	Load(r io.Reader) error
}

// setup is an engine with the checks the flags asked for, and the parts of
// it that keep learned state.
type setup struct {
	engine *mailscore.Engine
	auth   *auth.Checker
	state  map[string]stateful // by section name in the state file
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
			return nil, fmt.Errorf("%w: -uribl: unknown list %q (want dbl, surbl, uribl)", errUsage, n)
		}
	}
	return out, nil
}

// buildChecks configures every check of the library from the flags:
// authentication, reputation, content and URLs. Learned state lives in the
// reputation store, the content classifier and the URL checker.
func buildChecks(cfg *config, s *setup, r dnsutil.Resolver) ([]mailscore.Check, error) {
	a, err := auth.New(auth.Options{Resolver: r, SPF: spf.Options{Receiver: cfg.authservID}})
	if err != nil {
		return nil, err
	}
	s.auth = a

	var lists []reputation.DNSList
	if names := splitList(cfg.dnsbl); len(names) > 0 {
		if lists, err = reputation.PresetLists(names...); err != nil {
			return nil, fmt.Errorf("%w: -dnsbl: %v", errUsage, err)
		}
	}
	store := reputation.NewMemStore(reputation.MemStoreOptions{})
	rep, err := reputation.New(reputation.Options{Store: store, Resolver: r, Lists: lists, ReadOnly: cfg.readOnly})
	if err != nil {
		return nil, err
	}
	s.state["reputation"] = store

	cc, err := content.New(content.Options{})
	if err != nil {
		return nil, err
	}
	s.state["content"] = cc

	ul, err := uriLists(splitList(cfg.uribl))
	if err != nil {
		return nil, err
	}
	uo := urlcheck.Options{URIBlocklists: ul, Protected: splitList(cfg.protect)}
	if cfg.follow {
		uo.Follower = urlcheck.NewFollower(urlcheck.FollowerOptions{Resolver: r})
	}
	uc, err := urlcheck.New(r, uo)
	if err != nil {
		return nil, err
	}
	s.state["urlcheck"] = uc
	return []mailscore.Check{a, rep, cc, uc}, nil
}

func newSetup(cfg *config, stderr io.Writer) (*setup, error) {
	r, err := cfg.resolver()
	if err != nil {
		return nil, err
	}
	s := &setup{state: map[string]stateful{}}
	checks, err := buildChecks(cfg, s, r)
	if err != nil {
		return nil, err
	}
	timeout := cfg.timeout
	if cfg.follow {
		// Following links takes up to 6 s per message before the URL
		// checker's own DNS work; give it room.
		timeout = max(timeout, 15*time.Second)
	}
	s.engine, err = mailscore.NewEngine(mailscore.EngineOptions{Timeout: timeout, Logger: cfg.logger(stderr)}, checks...)
	if err != nil {
		return nil, err
	}
	if cfg.statePath != "" {
		if err := s.load(cfg.statePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return s, nil
}

// The state file is one checksummed snapshot (internal/snapshot) holding
// a section per learning check: the check's name and its saved state, each
// preceded by its length.
const stateKind = "mailscore-cli-state"

func (s *setup) save(path string) error {
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

func (s *setup) load(path string) error {
	payload, _, err := snapshot.ReadFile(path, stateKind, 4<<30)
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
