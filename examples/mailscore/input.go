package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/mail"
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

// loadMessage reads one message file. Envelope fields not given on the
// command line are taken from the message where it records them: MAIL FROM
// from Return-Path.
func loadMessage(path string, env mailscore.Envelope, lim mailscore.Limits) (*mailscore.Message, error) {
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
	if m.Envelope.MailFrom == "" {
		if rp := m.Header.Get("Return-Path"); rp != "" && rp != "<>" {
			if a, err := mail.ParseAddress(rp); err == nil {
				m.Envelope.MailFrom = a.Address
			}
		}
	}
	return m, nil
}
