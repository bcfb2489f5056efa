package content

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
)

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func listNotes(notes []string, total int) string {
	s := strings.Join(notes, "; ")
	if total > len(notes) {
		s += fmt.Sprintf(" (and %d more)", total-len(notes))
	}
	return s
}

// heuristics turns the analysis into signals.
func (c *Checker) heuristics(msg *mailscore.Message, a *analysis) []mailscore.Signal {
	var sigs []mailscore.Signal
	add := func(sym string, value, conf float64, reason string) {
		sigs = append(sigs, mailscore.Signal{Symbol: sym, Value: value, Confidence: conf, Reason: reason})
	}

	if a.gtube {
		add(SymGTUBE, 1, 1, "The message contains the GTUBE test string (XJS*C4JDBQADN1...), which marks a message as spam by convention; if this was not a deliberate filter test, remove the string.")
	}

	// MIME structure.
	var limits, broken []string
	for _, d := range a.mi.Defects {
		if strings.Contains(d, "(Limits.Max") {
			limits = append(limits, d)
		} else {
			broken = append(broken, d)
		}
	}
	for _, d := range msg.Defects() {
		switch d {
		case mailscore.DefectNoBlankLine, mailscore.DefectLeadingFold, mailscore.DefectNoHeader:
			broken = append(broken, string(d))
		}
	}
	if a.mi.Limited {
		add(SymMIMELimit, 1, 0.9, fmt.Sprintf("Decoding stopped at a safety limit: %s. Legitimate mail almost never nests or multiplies parts this far; if this message is genuine, raise the limit in mailscore.Limits.", listNotes(limits[:min(2, len(limits))], len(limits))))
	}
	if len(broken) > 0 {
		add(SymMIMEBroken, clamp01(0.5+0.25*float64(len(broken)-1)), 0.8, fmt.Sprintf("The MIME structure is broken: %s. Mail software produces well-formed MIME; broken structure comes from bulk-mailing tools or damage in transit.", listNotes(broken[:min(3, len(broken))], len(broken))))
	}

	// HTML.
	hs := &a.hs
	if hs.hiddenChars >= 30 {
		frac := float64(hs.hiddenChars) / float64(hs.hiddenChars+hs.visibleChars)
		v := clamp01((frac - 0.05) / 0.25)
		if hs.hiddenChars >= 500 || hs.hiddenTrick >= 30 {
			v = math.Max(v, 0.5)
		}
		if v > 0 {
			sample := hs.hiddenSample
			if len(sample) > 60 {
				sample = sample[:60] + "..."
			}
			add(SymHTMLHiddenText, v, 0.8, fmt.Sprintf("The HTML hides %d characters of text from the reader (%s), %.0f%% of its text, e.g. %q: hidden text feeds filters words the reader never sees.", hs.hiddenChars, hs.hiddenHow, 100*frac, sample))
		}
	}
	if hs.images > 0 && hs.visibleChars < 400 {
		v := 1 - float64(hs.visibleChars)/400
		area := ""
		if hs.imageArea > 0 {
			area = fmt.Sprintf(", %d square pixels declared", hs.imageArea)
		}
		add(SymHTMLImageOnly, v, 0.7, fmt.Sprintf("The HTML shows %s (%d remote, %d embedded%s) but only %d characters of text: its words are in pictures, where text filters cannot read them.", plural(hs.images, "image", "images"), hs.remoteImages, hs.inlineImages, area, hs.visibleChars))
	}
	if hs.mismatches > 0 {
		add(SymHTMLLinkMismatch, clamp01(0.6+0.2*float64(hs.mismatches-1)), 0.8, fmt.Sprintf("%s: %s. This is how phishing disguises where a link leads; a sender who routes links through a click tracker should show the tracker's domain or no domain at all.", plural(hs.mismatches, "link shows a different domain from the one it opens", "links show different domains from the ones they open"), strings.Join(hs.mismatchNotes, "; ")))
	}
	if hs.forms > 0 {
		v, what := 0.5, plural(hs.forms, "form", "forms")
		if hs.passwordFields > 0 {
			v, what = 1, what+" with "+plural(hs.passwordFields, "password field", "password fields")
		}
		add(SymHTMLForm, v, 0.8, fmt.Sprintf("The HTML holds %s. Legitimate senders link to their web site instead of collecting data in mail; forms asking for passwords are phishing.", what))
	}
	if hs.scripts > 0 {
		add(SymHTMLScript, clamp01(0.5+0.1*float64(hs.scripts)), 0.7, fmt.Sprintf("The HTML carries %s (scripts, event handlers, javascript: links or embedded frames and objects). Mail clients do not run them; they are there to attack webmail or to evade filters.", plural(hs.scripts, "piece of active content", "pieces of active content")))
	}
	if hs.trackingPixels > 0 {
		add(SymHTMLTracking, 1, 0.6, fmt.Sprintf("The HTML loads %s (remote images of 2x2 pixels or less, or hidden): the sender learns when and where the message is opened.", plural(hs.trackingPixels, "tracking pixel", "tracking pixels")))
	}
	if hs.externalCSS > 0 {
		add(SymHTMLExternalCSS, 1, 0.5, fmt.Sprintf("The HTML loads %s from the network; mail clients block them, so they serve tracking or filter evasion.", plural(hs.externalCSS, "remote style sheet", "remote style sheets")))
	}
	if a.html > 0 && a.plain == 0 {
		add(SymHTMLOnly, 1, 0.6, "The message is HTML with no plain-text alternative; most legitimate mailers send both (multipart/alternative, RFC 2046 section 5.1.4).")
	}

	// Text.
	if n := a.body.invisible + a.subj.invisible; n >= 2 {
		r := a.body.invisibleSeen
		if r == 0 {
			r = a.subj.invisibleSeen
		}
		add(SymInvisibleChars, clamp01(0.2+float64(n)/10), 0.8, fmt.Sprintf("The text hides %d invisible characters (such as U+%04X) inside words, which breaks words apart for filters while looking normal to the reader.", n, r))
	}
	if n := a.body.mixedWords + a.subj.mixedWords; n > 0 {
		samples := append(append([]string(nil), a.subj.mixedSamples...), a.body.mixedSamples...)
		if len(samples) > 3 {
			samples = samples[:3]
		}
		add(SymMixedScript, clamp01(0.4+0.2*float64(n)), 0.8, fmt.Sprintf("%s Latin with Cyrillic or Greek look-alike letters (%s): a way to spell brand names so that filters and readers disagree.", plural(n, "word mixes", "words mix"), quoteAll(samples)))
	}
	if a.subj.words >= 2 && float64(a.subj.upperWords) >= 0.8*float64(a.subj.words) {
		add(SymSubjectShouting, float64(a.subj.upperWords)/float64(a.subj.words), 0.6, fmt.Sprintf("The subject %q is in capitals.", truncateRunes(a.subject, 80)))
	}
	if r := a.body.shouting(30); r >= 0.5 {
		add(SymBodyShouting, clamp01(0.3+(r-0.5)/0.3), 0.7, fmt.Sprintf("%.0f%% of the %d words of the body are in capitals.", 100*r, a.body.words))
	}

	// Header fields.
	date := msg.Header.Get("Date")
	switch t, ok := parseDate(date); {
	case date == "":
		add(SymDateMissing, 1, 0.8, "The message has no Date field, which RFC 5322 section 3.6 requires; mail software always adds one.")
	case !ok:
		add(SymDateInvalid, 1, 0.9, fmt.Sprintf("The Date field %q is not a valid RFC 5322 date (section 3.3); mail software writes dates correctly, bulk tools often do not.", truncateRunes(date, 60)))
	default:
		if ahead := t.Sub(c.now()); ahead > c.skew {
			add(SymDateFuture, clamp01(0.5+ahead.Hours()/24/30), 0.8, fmt.Sprintf("The Date field %q is %s in the future; a correct sender clock cannot do that, but spam dated ahead stays at the top of inboxes.", truncateRunes(date, 60), roundDuration(ahead)))
		}
	}
	switch id := msg.Header.Get("Message-ID"); {
	case !msg.Header.Has("Message-ID"):
		add(SymMsgIDMissing, 1, 0.7, "The message has no Message-ID field; mail software adds one (RFC 5322 section 3.6.4).")
	case !validMessageID(id):
		add(SymMsgIDInvalid, 1, 0.8, fmt.Sprintf("The Message-ID %q is not of the form <left@right> (RFC 5322 section 3.6.4).", truncateRunes(id, 60)))
	}

	// Attachments.
	at := &a.att
	if len(at.executable) > 0 {
		add(SymAttachExecutable, 1, 1, fmt.Sprintf("The message carries an executable attachment: %s. Programs sent by mail are the classic malware carrier; send a download link instead.", strings.Join(at.executable, "; ")))
	}
	if len(at.archiveExe) > 0 || len(at.encrypted) > 0 {
		var parts []string
		v := 0.0
		if len(at.archiveExe) > 0 {
			parts = append(parts, "An archive holds an executable: "+listNotes(at.archiveExe, at.archiveExeN))
			v = 1
		}
		if len(at.encrypted) > 0 {
			what := "Encrypted archive "
			if len(parts) > 0 {
				what = "encrypted archive "
			}
			parts = append(parts, what+strings.Join(at.encrypted, ", ")+" cannot be inspected")
			v = math.Max(v, 0.7)
		}
		add(SymAttachArchiveExe, v, 0.9, strings.Join(parts, "; ")+". Malware hides in archives, encrypted ones above all, to get past attachment filters.")
	}
	if len(at.macro) > 0 {
		add(SymAttachMacro, 1, 0.9, fmt.Sprintf("The message carries an Office document with macros: %s. Macro documents are a common malware carrier; send a macro-free format.", strings.Join(at.macro, "; ")))
	}
	if len(at.doubleExt) > 0 {
		add(SymAttachDoubleExt, 1, 0.9, fmt.Sprintf("An attachment name disguises its type: %s. Only malware needs to hide what a file really is.", strings.Join(at.doubleExt, "; ")))
	}
	return sigs
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if j > n {
			break
		}
		i = j
	}
	return s[:i] + "..."
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.0f days", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.0f hours", d.Hours())
	}
	return d.Round(time.Minute).String()
}

// bayesSignal turns the classifier's result into the BAYES signal.
func (c *Checker) bayesSignal(b bayesResult, tk *tokenizer) (mailscore.Signal, bool) {
	s := mailscore.Signal{Symbol: SymBayes}
	learned := "learned from " + fmtCount(b.ham, "ham") + " and " + fmtCount(b.spam, "spam")
	if b.ham == 0 || b.spam == 0 {
		s.Reason = fmt.Sprintf("The token classifier has %s; it needs both, %d of each for full confidence, and gives no opinion until then. Teach it with mailscore learn (or Engine.Learn).", learned, c.minLearned)
		return s, true
	}
	conf := c.confidence(b)
	s.Value = 2*b.prob - 1
	s.Confidence = conf
	var need string
	if conf < 1 {
		need = fmt.Sprintf("; it needs %d of each for full confidence", c.minLearned)
	}
	if len(b.clues) == 0 {
		s.Reason = fmt.Sprintf("The token classifier (%s%s) knows none of this message's %d tokens well enough to judge.", learned, need, b.considered)
		s.Value = 0
		return s, true
	}
	// The reason is built with appends: this runs for every message, and
	// fmt would allocate for each clue.
	r := make([]byte, 0, 512)
	r = append(r, "The token classifier puts the spam probability at "...)
	r = strconv.AppendFloat(r, b.prob, 'f', 2, 64)
	r = append(r, " from the "...)
	r = strconv.AppendInt(r, int64(len(b.clues)), 10)
	r = append(r, " strongest of "...)
	r = strconv.AppendInt(r, int64(b.considered), 10)
	r = append(r, " tokens ("...)
	r = append(append(r, learned...), need...)
	r = append(r, "). Strongest spam-ward: "...)
	r = appendClues(r, b.clues, tk, true)
	r = append(r, "; strongest ham-ward: "...)
	r = appendClues(r, b.clues, tk, false)
	r = append(r, '.')
	s.Reason = string(r)
	return s, true
}

// appendClues appends the five strongest spam-ward (or ham-ward) clues,
// each as its quoted token (at most 40 bytes) and f(w) to two decimals,
// separated by commas; "none" if there is none.
func appendClues(dst []byte, clues []clue, tk *tokenizer, spamward bool) []byte {
	n := 0
	for _, cl := range clues {
		if n == 5 {
			break
		}
		if spamward && cl.f > 0.5 || !spamward && cl.f < 0.5 {
			if n > 0 {
				dst = append(dst, ", "...)
			}
			dst = strconv.AppendQuote(dst, truncateRunes(tk.tokenString(cl.tok), 40))
			dst = append(dst, ' ')
			dst = strconv.AppendFloat(dst, cl.f, 'f', 2, 64)
			n++
		}
	}
	if n == 0 {
		dst = append(dst, "none"...)
	}
	return dst
}

func fmtCount(n float64, what string) string {
	prec := 2
	if n == math.Trunc(n) {
		prec = 0
	}
	return strconv.FormatFloat(n, 'f', prec, 64) + " " + what
}
