package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailscore/mailscore"
)

// collectFiles expands the arguments into message files: files as given,
// folders walked recursively (hidden entries skipped), in a stable order.
func collectFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != a && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
		out = append(out, files...)
	}
	return out, nil
}

// stripMboxFrom removes the "From " separator line a single-message mbox
// file starts with.
func stripMboxFrom(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return nil
}

// receivedFrom finds, in the topmost Received field that names one, the
// public address and HELO name of the client that handed the message to the
// receiving system: "from HELO (rdns [192.0.2.1]) by ...". Private,
// loopback and other non-public addresses (local relays, fetchmail) are
// skipped. At most the first 10 Received fields are read.
func receivedFrom(m *mailscore.Message) (netip.Addr, string) {
	for i, v := range m.Header.Values("Received") {
		if i == 10 {
			break
		}
		if !strings.HasPrefix(strings.ToLower(v), "from ") {
			continue
		}
		helo, _, _ := strings.Cut(strings.TrimSpace(v[5:]), " ")
		for rest := v; ; {
			open := strings.IndexByte(rest, '[')
			if open < 0 {
				break
			}
			end := strings.IndexByte(rest[open:], ']')
			if end < 0 {
				break
			}
			lit := strings.TrimPrefix(strings.ToLower(rest[open+1:open+end]), "ipv6:")
			rest = rest[open+end:]
			ip, err := netip.ParseAddr(lit)
			if err != nil {
				continue
			}
			ip = ip.Unmap()
			if ip.IsGlobalUnicast() && !ip.IsPrivate() {
				return ip, strings.Trim(helo, "[]")
			}
		}
	}
	return netip.Addr{}, ""
}

// loadMessage reads one message file. Envelope fields not given on the
// command line are taken from the message where it records them: MAIL FROM
// from Return-Path and, if fromReceived is set, the client address and HELO
// from the Received fields.
func loadMessage(path string, env mailscore.Envelope, lim mailscore.Limits, fromReceived bool) (*mailscore.Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := int64(lim.MaxSize)
	if max <= 0 {
		max = mailscore.DefaultMaxSize
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > max+1<<10 {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, mailscore.ErrMessageTooLarge, fi.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := mailscore.NewMessage(env, stripMboxFrom(raw), lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The message is not shared yet: completing its envelope is safe.
	if m.Envelope.MailFrom == "" {
		if rp := m.Header.Get("Return-Path"); rp != "" && rp != "<>" {
			if a, err := mail.ParseAddress(rp); err == nil {
				m.Envelope.MailFrom = a.Address
			}
		}
	}
	if fromReceived && !m.Envelope.ClientIP.IsValid() {
		ip, helo := receivedFrom(m)
		m.Envelope.ClientIP = ip
		if m.Envelope.HELO == "" {
			m.Envelope.HELO = helo
		}
	}
	return m, nil
}
