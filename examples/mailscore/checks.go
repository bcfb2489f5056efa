package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/internal/snapshot"
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
	state  map[string]stateful // by check name
}

// buildChecks returns every check of the library, configured from the
// flags. Each signal package contributes its check here.
func buildChecks(cfg *config, r dnsutil.Resolver) ([]mailscore.Check, error) {
	var checks []mailscore.Check
	_ = r
	return checks, nil
}

func newSetup(cfg *config, stderr io.Writer) (*setup, error) {
	r, err := cfg.resolver()
	if err != nil {
		return nil, err
	}
	checks, err := buildChecks(cfg, r)
	if err != nil {
		return nil, err
	}
	e, err := mailscore.NewEngine(mailscore.EngineOptions{Timeout: cfg.timeout, Logger: cfg.logger(stderr)}, checks...)
	if err != nil {
		return nil, err
	}
	s := &setup{engine: e, state: map[string]stateful{}}
	for _, c := range checks {
		if st, ok := c.(stateful); ok {
			s.state[c.Name()] = st
		}
	}
	if cfg.statePath != "" {
		if err := s.load(cfg.statePath); err != nil && !os.IsNotExist(err) {
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
