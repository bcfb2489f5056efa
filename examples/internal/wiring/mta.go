package wiring

import (
	"fmt"
	"strings"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/authres"
)

// Header fields an MTA adds for a scored message.
const (
	// VerdictField carries Verdict.HeaderValue: the score, the action, the
	// dominant factor and the factors.
	VerdictField = "X-Mailscore"
	// TagField is added, with the value "YES", to a message the verdict
	// tags; mail filters (Sieve, procmail) file on it.
	TagField = "X-Spam-Flag"
	// AuthResultsField is the Authentication-Results field (RFC 8601).
	AuthResultsField = "Authentication-Results"
)

// Reply is an SMTP reply: a code (RFC 5321 section 4.2), an enhanced
// status code (RFC 3463) and a one-line text.
type Reply struct {
	Code     int
	Enhanced string
	Text     string
}

// String formats the reply as the line an SMTP server sends, without CRLF:
// "550 5.7.1 text".
func (r Reply) String() string {
	return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// MaxReplyText bounds the text of a reply built from a verdict: with the
// code and the enhanced code it stays well inside the 512 octets RFC 5321
// section 4.5.3.1.5 allows a reply line.
const MaxReplyText = 200

// VerdictReply returns the reply for the end of DATA that a verdict asks
// for: accept and tag get 250, defer gets 451 4.7.1 and reject gets 550
// 5.7.1, the text naming the dominant factor and its reason. The text is
// safe to send: printable ASCII, one line, at most MaxReplyText octets.
// queueID, if not empty, is named in a 250 reply.
func VerdictReply(v *mailscore.Verdict, queueID string) Reply {
	switch v.Action {
	case mailscore.ActionReject:
		text := fmt.Sprintf("Message rejected as spam (score %.2f)", v.Score)
		if d, ok := v.Dominant(); ok {
			text += ": " + d.Symbol
			if d.Reason != "" {
				text += ": " + d.Reason
			}
		}
		return Reply{550, "5.7.1", SafeText(text, MaxReplyText)}
	case mailscore.ActionDefer:
		var names []string
		for _, inc := range v.Incomplete {
			names = append(names, inc.Check)
		}
		text := "Message deferred: checks did not finish"
		if len(names) > 0 {
			text += " (" + strings.Join(names, ", ") + ")"
		}
		text += "; try again later"
		return Reply{451, "4.7.1", SafeText(text, MaxReplyText)}
	}
	text := "Ok"
	if queueID != "" {
		text = "Ok: queued as " + queueID
	}
	return Reply{250, "2.0.0", SafeText(text, MaxReplyText)}
}

// SafeText makes s safe for an SMTP reply line or a log field: every run
// of white space or control characters becomes one space, every other
// character outside printable US-ASCII becomes '?', and the result is cut
// to at most n octets (with "..." when cut).
func SafeText(s string, n int) string {
	var b strings.Builder
	b.Grow(min(len(s), n+3))
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r < 0x20 || r == 0x7f:
			space = b.Len() > 0
			continue
		case r > 0x7e:
			r = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > n {
			break
		}
	}
	out := b.String()
	if len(out) > n {
		cut := max(n-3, 0)
		if i := strings.LastIndexByte(out[:cut], ' '); i > cut/2 {
			cut = i
		}
		out = out[:cut] + "..."
	}
	return out
}

// Forged reports whether a header field that arrived with a message claims
// to come from this receiver and must be removed before the receiver adds
// its own (RFC 8601 section 5): Authentication-Results for authservID, and
// any VerdictField or TagField. An Authentication-Results field whose value
// does not parse is compared on its first token.
func Forged(name, value, authservID string) bool {
	switch {
	case strings.EqualFold(name, VerdictField), strings.EqualFold(name, TagField):
		return true
	case !strings.EqualFold(name, AuthResultsField):
		return false
	}
	id := ""
	if h, err := authres.Parse(value); err == nil {
		id = h.AuthServID
	} else {
		id, _, _ = strings.Cut(strings.TrimSpace(value), ";")
		id = strings.TrimSpace(id)
	}
	return strings.EqualFold(id, authservID)
}

// Fields returns the header fields to add for a scored message, in the
// order they should appear from the top: the tag field (only when the
// verdict tags), the verdict field and Authentication-Results (when the
// auth check finished). Values are single lines without the leading space.
func Fields(r *Scored, authservID string) []Field {
	var out []Field
	if r.Verdict.Action == mailscore.ActionTag {
		out = append(out, Field{TagField, "YES"})
	}
	out = append(out, Field{VerdictField, r.Verdict.HeaderValue()})
	if ar := r.AuthResults(authservID); ar != "" {
		out = append(out, Field{AuthResultsField, ar})
	}
	return out
}

// Field is a header field name and its one-line value.
type Field struct {
	Name, Value string
}
