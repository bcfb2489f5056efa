package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// deliver writes the message to the Maildir with the fields this server
// adds on top: Return-Path (RFC 5321 section 4.4, the final delivery adds
// it), the scoring fields (wiring.Fields: X-Spam-Flag when tagged,
// X-Mailscore, Authentication-Results) and Received (RFC 5321 section
// 4.4). Fields that arrived with the message claiming to be ours
// (wiring.Forged, RFC 8601 section 5) are removed, and so are incoming
// Return-Path fields. The file holds the message as it came over the
// wire, CRLF line breaks included. It returns the file's name.
func (s *Server) deliver(msg *mailscore.Message, res *wiring.Scored, helo string, overTLS bool, id string) (string, error) {
	var top bytes.Buffer
	env := &msg.Envelope
	top.WriteString("Return-Path: <" + env.MailFrom + ">\r\n")
	for _, f := range wiring.Fields(res, s.opts.AuthservID) {
		writeFolded(&top, f.Name, f.Value)
	}
	writeFolded(&top, "Received", s.received(env, helo, overTLS, id))
	body := withoutForged(msg, s.opts.AuthservID)
	return s.writeMaildir(top.Bytes(), body)
}

// received builds the value of the Received field (RFC 5321 section
// 4.4): "from HELO ([IP]) by HOST (mailscore-smtpd) with ESMTP id ID for
// <rcpt>; date". The recipient is named only when there is one.
func (s *Server) received(env *mailscore.Envelope, helo string, overTLS bool, id string) string {
	lit := "unknown"
	if ip := env.ClientIP; ip.IsValid() {
		if ip.Is4() {
			lit = "[" + ip.String() + "]"
		} else {
			lit = "[IPv6:" + ip.String() + "]" // RFC 5321 section 4.1.3
		}
	}
	proto := "ESMTP"
	if overTLS {
		proto = "ESMTPS" // RFC 3848
	}
	v := fmt.Sprintf("from %s (%s) by %s (mailscore-smtpd) with %s id %s", helo, lit, s.opts.Hostname, proto, id)
	if len(env.RcptTo) == 1 {
		v += " for <" + env.RcptTo[0] + ">"
	}
	return v + "; " + time.Now().Format(time.RFC1123Z)
}

// writeFolded writes "Name: value" CRLF, folded at spaces so lines stay
// within 78 characters where the value allows (RFC 5322 section 2.2.3:
// folding only adds CRLF before existing white space, so unfolding gives
// the value back).
func writeFolded(b *bytes.Buffer, name, value string) {
	const width = 78
	b.WriteString(name)
	b.WriteByte(':')
	col := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if i > 0 && col+1+len(word) > width {
			b.WriteString("\r\n")
			col = 0
		}
		b.WriteByte(' ')
		b.WriteString(word)
		col += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// withoutForged returns the raw message with the header fields that
// wiring.Forged names cut out, and any Return-Path (RFC 5321 section 4.4:
// the server making final delivery may remove them before adding its
// own). The message's own bytes are returned when there are none.
func withoutForged(msg *mailscore.Message, authservID string) []byte {
	raw := msg.Raw()
	hdr := msg.HeaderBytes()
	var out []byte
	pos := 0
	for _, f := range msg.Header.Fields() {
		if !strings.EqualFold(f.Name, "Return-Path") && !wiring.Forged(f.Name, f.Value(), authservID) {
			continue
		}
		i := bytes.Index(hdr[pos:], f.Raw)
		if i < 0 {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(raw))
		}
		out = append(out, hdr[pos:pos+i]...)
		pos += i + len(f.Raw)
	}
	if out == nil {
		return raw
	}
	return append(out, raw[pos:]...)
}

// writeMaildir stores a message in the Maildir as the Maildir
// convention asks: written under tmp/, synced, then renamed into new/
// with a name unique to this host, process and delivery.
func (s *Server) writeMaildir(parts ...[]byte) (string, error) {
	now := time.Now()
	host := strings.NewReplacer("/", `\057`, ":", `\072`).Replace(s.opts.Hostname)
	name := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, s.pid, s.seq.Add(1), host)
	tmp := filepath.Join(s.opts.Maildir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		final := filepath.Join(s.opts.Maildir, "new", name)
		if err = os.Rename(tmp, final); err == nil {
			return final, nil
		}
	}
	os.Remove(tmp)
	return "", err
}
