package content

import "github.com/mailscore/mailscore"

// Symbols the content check emits. Values are in [0, 1] (toward spam)
// except BAYES, which spans [-1, 1].
const (
	SymGTUBE            = "GTUBE"
	SymBayes            = "BAYES"
	SymMIMEBroken       = "MIME_BROKEN"
	SymMIMELimit        = "MIME_LIMIT"
	SymHTMLHiddenText   = "HTML_HIDDEN_TEXT"
	SymHTMLImageOnly    = "HTML_IMAGE_ONLY"
	SymHTMLLinkMismatch = "HTML_LINK_MISMATCH"
	SymHTMLForm         = "HTML_FORM"
	SymHTMLScript       = "HTML_SCRIPT"
	SymHTMLTracking     = "HTML_TRACKING_PIXEL"
	SymHTMLExternalCSS  = "HTML_EXTERNAL_CSS"
	SymHTMLOnly         = "HTML_ONLY"
	SymInvisibleChars   = "INVISIBLE_CHARS"
	SymMixedScript      = "MIXED_SCRIPT"
	SymSubjectShouting  = "SUBJECT_SHOUTING"
	SymBodyShouting     = "BODY_SHOUTING"
	SymDateMissing      = "DATE_MISSING"
	SymDateInvalid      = "DATE_INVALID"
	SymDateFuture       = "DATE_FUTURE"
	SymMsgIDMissing     = "MSGID_MISSING"
	SymMsgIDInvalid     = "MSGID_INVALID"
	SymAttachExecutable = "ATTACH_EXECUTABLE"
	SymAttachMacro      = "ATTACH_MACRO"
	SymAttachArchiveExe = "ATTACH_ARCHIVE_EXECUTABLE"
	SymAttachDoubleExt  = "ATTACH_DOUBLE_EXTENSION"
)

// symbols is the table Symbols returns. Weights are points at value 1 and
// confidence 1; the default scorer tags at 5 and rejects at 15. No single
// heuristic rejects on its own except GTUBE (a test string, by design) and
// no heuristic tags on its own except the dangerous-attachment ones: the
// classifier carries the bulk of the judgement.
var symbols = []mailscore.Symbol{
	{Name: SymGTUBE, Weight: 100, Description: "the GTUBE anti-spam test string: always spam, by convention"},
	{Name: SymBayes, Weight: 8, Signed: true, Description: "token classifier (Robinson-Fisher chi-square): +1 spam, -1 ham, confidence grows with what it has learned"},
	{Name: SymMIMEBroken, Weight: 1.5, Description: "MIME structure is broken (missing or unused boundary, bad encoding, malformed header)"},
	{Name: SymMIMELimit, Weight: 4, Description: "decoding stopped at a limit (nesting depth, part count, decoded size): a decoding bomb or a hostile message"},
	{Name: SymHTMLHiddenText, Weight: 2.5, Description: "HTML hides a lot of text (display:none, invisible colour, tiny font)"},
	{Name: SymHTMLImageOnly, Weight: 2, Description: "HTML shows images and almost no text"},
	{Name: SymHTMLLinkMismatch, Weight: 3, Description: "link text shows one domain, the link goes to another"},
	{Name: SymHTMLForm, Weight: 2, Description: "HTML holds a form (a password field counts fully)"},
	{Name: SymHTMLScript, Weight: 2, Description: "HTML holds scripts, event handlers, javascript: links or embedded objects"},
	{Name: SymHTMLTracking, Weight: 0.3, Description: "HTML loads a tracking pixel"},
	{Name: SymHTMLExternalCSS, Weight: 0.3, Description: "HTML loads a remote style sheet"},
	{Name: SymHTMLOnly, Weight: 0.5, Description: "HTML with no plain-text alternative"},
	{Name: SymInvisibleChars, Weight: 2.5, Description: "invisible Unicode characters inside words (filter evasion)"},
	{Name: SymMixedScript, Weight: 2.5, Description: "words mixing Latin with Cyrillic or Greek letters (look-alike spelling)"},
	{Name: SymSubjectShouting, Weight: 1, Description: "subject in capitals"},
	{Name: SymBodyShouting, Weight: 1.5, Description: "body text mostly in capitals"},
	{Name: SymDateMissing, Weight: 0.5, Group: "date", Description: "no Date field (RFC 5322 section 3.6 requires one)"},
	{Name: SymDateInvalid, Weight: 1.5, Group: "date", Description: "Date field that does not parse (RFC 5322 section 3.3)"},
	{Name: SymDateFuture, Weight: 2, Group: "date", Description: "Date in the future"},
	{Name: SymMsgIDMissing, Weight: 0.5, Group: "msgid", Description: "no Message-ID field"},
	{Name: SymMsgIDInvalid, Weight: 1, Group: "msgid", Description: "malformed Message-ID (RFC 5322 section 3.6.4)"},
	{Name: SymAttachExecutable, Weight: 6, Description: "executable attachment"},
	{Name: SymAttachMacro, Weight: 4, Description: "Office document with macros"},
	{Name: SymAttachArchiveExe, Weight: 6, Description: "archive holding an executable, or encrypted so it cannot be inspected"},
	{Name: SymAttachDoubleExt, Weight: 4, Description: "attachment name disguising its real type (double extension, padding, right-to-left override)"},
}
