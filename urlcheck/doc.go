// Package urlcheck judges the links in a message: where they point, which
// nameservers serve their domains, and (if asked) where they land.
//
// It extracts links from the text and HTML parts (ExtractMessage,
// ExtractText, ExtractHTML) and normalizes them as a browser would
// (Normalize): lower-case IDNA hosts, percent-encoded hosts decoded,
// numeric hosts in decimal, hex, octal or mixed forms turned into the
// address they mean, userinfo tricks flagged. The Checker then asks URI
// blocklists about the domains (through dnsutil, off unless configured),
// looks up the nameservers of the linked and sending domains and asks
// blocklists about them, keeps a learned reputation of nameservers and URL
// domains fed by "spam" / "not spam" feedback, so that a new domain served
// by nameservers seen behind spam is suspicious from its first message,
// flags look-alikes of protected names and mixed-script labels, and with a
// Follower (off by default) follows links to their landing pages without
// ever connecting to an internal address.
//
// Shortest use, as a check of a mailscore.Engine:
//
//	c, err := urlcheck.New(resolver, urlcheck.Options{
//		URIBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausDBL()},
//		Protected:     []string{"mybank.example"},
//	})
//	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, authChecker, c)
//
// # Public Suffix List
//
// A URL's registered domain (URL.Domain) counts both sections of the Public
// Suffix List, ICANN and private, as golang.org/x/net/publicsuffix's
// EffectiveTLDPlusOne does: "a.tenant.pages.dev" belongs to
// "tenant.pages.dev", so one tenant of a hosting platform is judged and
// learned apart from the platform and its other tenants. Blocklists are
// asked, and reputation is learned, about that domain. Nameservers are
// looked up at URL.ICANNDomain, the registered domain counting only the
// ICANN section ("pages.dev"), because that is where the DNS zone and its
// NS records are. Bare domains in text count only when their top-level
// domain is in the ICANN section.
//
// # Unknown is not bad
//
// A list that times out, fails, answers with an error code or is skipped
// as unhealthy gives no listing: the Checker emits URL_LIST_UNKNOWN with
// confidence 0 and returns an error (matching ErrIncomplete, and wrapping
// the dnsutil error so dnsutil.IsTemporary works), so the engine marks the
// check incomplete. A nameserver or domain with too little feedback has
// confidence 0 (see ReputationOptions for the estimator). Good standing of
// a nameserver counts only for the domains that authenticated as the
// sender: anyone can link to a reputable site.
//
// # Signals
//
// URL_NUMERIC_HOST, URL_USERINFO, URL_LOOKALIKE, URL_MIXED_SCRIPT,
// URL_SHORTENER, URL_REDIRECTOR (from the links themselves);
// URL_<LIST>_<CODE> such as URL_DBL_SPAM, URL_SURBL_PH, URL_URIBL_BLACK,
// and URL_IP_LISTED (blocklists); URL_NS_LISTED and URL_NS_IP_LISTED
// (nameservers on lists); URL_NS_REPUTATION and URL_DOMAIN_REPUTATION
// (learned; they carry the mailscore.KeyNameserver and KeyURLDomain keys
// Learn counts); URL_REDIRECT_CHAIN, URL_LANDING_EXECUTABLE,
// URL_LANDING_LOGIN_FORM (landing pages); URL_LIST_UNKNOWN (confidence 0).
// Checker.Symbols gives their default weights.
package urlcheck
