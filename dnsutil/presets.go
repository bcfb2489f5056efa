package dnsutil

import "net/netip"

// Presets for well-known lists. Each call returns a fresh value the caller
// may change. None is queried unless a caller passes it to NewDNSBL. The
// codes follow each operator's public documentation; Value is a default
// strength toward spam that checks may reweigh.

func ip4(s string) netip.Addr { return netip.MustParseAddr(s) }

// spamhausErrors are Spamhaus's error answers (in 127.255.255.0/24, which
// Interpret refuses anyway; named here for clearer reasons).
func spamhausErrors() map[netip.Addr]string {
	return map[netip.Addr]string{
		ip4("127.255.255.252"): "Spamhaus: typing error in the list name",
		ip4("127.255.255.254"): "Spamhaus: query through a public or open resolver refused",
		ip4("127.255.255.255"): "Spamhaus: excessive number of queries",
	}
}

// SpamhausZEN is Spamhaus ZEN (zen.spamhaus.org): SBL, CSS, XBL and PBL in
// one IP list.
func SpamhausZEN() Blocklist {
	sbl := Code{Name: "SBL", Meaning: "Spamhaus SBL: a known spam source or spam operation", Value: 1}
	xbl := Code{Name: "XBL", Meaning: "Spamhaus XBL: an exploited or infected host (botnet, open proxy)", Value: 1}
	pbl := Code{Name: "PBL", Meaning: "Spamhaus PBL: an address range its owner says should not send mail directly", Value: 0.6}
	return Blocklist{
		Name: "Spamhaus ZEN", Zone: "zen.spamhaus.org", Kind: IPList,
		Codes: map[netip.Addr]Code{
			ip4("127.0.0.2"):  sbl,
			ip4("127.0.0.3"):  {Name: "CSS", Meaning: "Spamhaus CSS: snowshoe spam source (automated)", Value: 0.8},
			ip4("127.0.0.4"):  xbl,
			ip4("127.0.0.5"):  xbl,
			ip4("127.0.0.6"):  xbl,
			ip4("127.0.0.7"):  xbl,
			ip4("127.0.0.9"):  {Name: "DROP", Meaning: "Spamhaus DROP: a hijacked or criminal network", Value: 1},
			ip4("127.0.0.10"): pbl,
			ip4("127.0.0.11"): pbl,
			ip4("127.0.0.30"): {Name: "BCL", Meaning: "Spamhaus BCL: a botnet controller", Value: 1},
		},
		Listed:         Code{Name: "listed", Meaning: "listed by Spamhaus ZEN with an undocumented code", Value: 0.5},
		ErrorCodes:     spamhausErrors(),
		TestEntry:      "127.0.0.2",
		NotListedEntry: "127.0.0.1",
	}
}

// SpamhausDBL is the Spamhaus Domain Block List (dbl.spamhaus.org).
func SpamhausDBL() Blocklist {
	errs := spamhausErrors()
	errs[ip4("127.0.1.255")] = "Spamhaus DBL: IP address queried in a domain list"
	return Blocklist{
		Name: "Spamhaus DBL", Zone: "dbl.spamhaus.org", Kind: DomainList,
		Codes: map[netip.Addr]Code{
			ip4("127.0.1.2"):   {Name: "SPAM", Meaning: "Spamhaus DBL: a low-reputation (spam) domain", Value: 1},
			ip4("127.0.1.4"):   {Name: "PHISH", Meaning: "Spamhaus DBL: a phishing domain", Value: 1},
			ip4("127.0.1.5"):   {Name: "MALWARE", Meaning: "Spamhaus DBL: a malware domain", Value: 1},
			ip4("127.0.1.6"):   {Name: "BOTNET_CC", Meaning: "Spamhaus DBL: a botnet command-and-control domain", Value: 1},
			ip4("127.0.1.102"): {Name: "ABUSED_LEGIT", Meaning: "Spamhaus DBL: a legitimate domain being abused for spam", Value: 0.5},
			ip4("127.0.1.103"): {Name: "ABUSED_REDIRECTOR", Meaning: "Spamhaus DBL: an abused URL redirector or shortener", Value: 0.5},
			ip4("127.0.1.104"): {Name: "ABUSED_PHISH", Meaning: "Spamhaus DBL: a legitimate domain abused for phishing", Value: 0.7},
			ip4("127.0.1.105"): {Name: "ABUSED_MALWARE", Meaning: "Spamhaus DBL: a legitimate domain abused for malware", Value: 0.7},
			ip4("127.0.1.106"): {Name: "ABUSED_BOTNET_CC", Meaning: "Spamhaus DBL: a legitimate domain abused for botnet command and control", Value: 0.7},
		},
		Listed:         Code{Name: "listed", Meaning: "listed by Spamhaus DBL with an undocumented code", Value: 0.5},
		ErrorCodes:     errs,
		TestEntry:      "dbltest.com", // Spamhaus's documented DBL test domain
		NotListedEntry: "invalid",
	}
}

// SURBL is SURBL's multi list (multi.surbl.org), a bitmask domain list.
func SURBL() Blocklist {
	return Blocklist{
		Name: "SURBL multi", Zone: "multi.surbl.org", Kind: DomainList,
		Bits: []BitCode{
			{4, Code{Name: "DM", Meaning: "SURBL DM: a disposable e-mail domain", Value: 0.3}},
			{8, Code{Name: "PH", Meaning: "SURBL PH: a phishing site", Value: 1}},
			{16, Code{Name: "MW", Meaning: "SURBL MW: a malware site", Value: 1}},
			{32, Code{Name: "CT", Meaning: "SURBL CT: a click-tracking domain", Value: 0.3}},
			{64, Code{Name: "ABUSE", Meaning: "SURBL ABUSE: a spam and abuse site", Value: 1}},
			{128, Code{Name: "CR", Meaning: "SURBL CR: a cracked (compromised) site", Value: 0.7}},
		},
		ErrorCodes: map[netip.Addr]string{
			ip4("127.0.0.1"): "SURBL: query blocked (bit 1 is not a listing)",
		},
		TestEntry:      "test.surbl.org",
		NotListedEntry: "invalid",
	}
}

// URIBL is URIBL's multi list (multi.uribl.com), a bitmask domain list.
func URIBL() Blocklist {
	return Blocklist{
		Name: "URIBL multi", Zone: "multi.uribl.com", Kind: DomainList,
		Bits: []BitCode{
			{2, Code{Name: "BLACK", Meaning: "URIBL black: a domain used by spammers", Value: 1}},
			{4, Code{Name: "GREY", Meaning: "URIBL grey: a bulk-mail domain that may honour opt-outs", Value: 0.4}},
			{8, Code{Name: "RED", Meaning: "URIBL red: a very young or privacy-protected domain seen in mail flow", Value: 0.5}},
		},
		ErrorCodes: map[netip.Addr]string{
			ip4("127.0.0.1"): "URIBL: query refused (public resolver or over quota)",
		},
		TestEntry:      "test.uribl.com",
		NotListedEntry: "invalid",
	}
}

// SpamCop is the SpamCop blocking list (bl.spamcop.net).
func SpamCop() Blocklist {
	return Blocklist{
		Name: "SpamCop", Zone: "bl.spamcop.net", Kind: IPList,
		Codes: map[netip.Addr]Code{
			ip4("127.0.0.2"): {Name: "LISTED", Meaning: "SpamCop: reported by recipients as a spam source in the last day or two", Value: 0.8},
		},
		Listed:         Code{Name: "listed", Meaning: "listed by SpamCop", Value: 0.8},
		TestEntry:      "127.0.0.2",
		NotListedEntry: "127.0.0.1",
	}
}

// Barracuda is the Barracuda reputation block list (b.barracudacentral.org),
// which answers only registered resolvers.
func Barracuda() Blocklist {
	return Blocklist{
		Name: "Barracuda BRBL", Zone: "b.barracudacentral.org", Kind: IPList,
		Codes: map[netip.Addr]Code{
			ip4("127.0.0.2"): {Name: "LISTED", Meaning: "Barracuda: a poor-reputation sender", Value: 0.8},
		},
		Listed:         Code{Name: "listed", Meaning: "listed by Barracuda", Value: 0.8},
		TestEntry:      "127.0.0.2",
		NotListedEntry: "127.0.0.1",
	}
}

// Mailspike is Mailspike's graded reputation list (rep.mailspike.net):
// levels L5 (worst) to H5 (excellent), with a neutral band (L1, H0, H1)
// that carries no weight either way.
func Mailspike() Blocklist {
	c := func(level, meaning string, v float64) Code {
		return Code{Name: level, Meaning: "Mailspike " + level + ": " + meaning, Value: v}
	}
	return Blocklist{
		Name: "Mailspike reputation", Zone: "rep.mailspike.net", Kind: IPList,
		Codes: map[netip.Addr]Code{
			ip4("127.0.0.10"): c("L5", "worst reputation", 1),
			ip4("127.0.0.11"): c("L4", "very bad reputation", 0.8),
			ip4("127.0.0.12"): c("L3", "bad reputation", 0.6),
			ip4("127.0.0.13"): c("L2", "suspicious behaviour", 0.3),
			ip4("127.0.0.14"): c("L1", "neutral, probably spam", 0),
			ip4("127.0.0.15"): c("H0", "neutral", 0),
			ip4("127.0.0.16"): c("H1", "neutral, probably legitimate", 0),
			ip4("127.0.0.17"): c("H2", "possibly a legitimate sender", -0.2),
			ip4("127.0.0.18"): c("H3", "good reputation", -0.4),
			ip4("127.0.0.19"): c("H4", "very good reputation", -0.6),
			ip4("127.0.0.20"): c("H5", "excellent reputation", -0.8),
		},
		// The reputation zone documents no positive test entry.
		NotListedEntry: "127.0.0.1",
	}
}

// DNSWL is the DNSWL.org allowlist (list.dnswl.org): answers 127.0.x.y
// where y is the trust level, used as negative weights.
func DNSWL() Blocklist {
	return Blocklist{
		Name: "DNSWL", Zone: "list.dnswl.org", Kind: IPList,
		LastOctet: map[uint8]Code{
			0: {Name: "NONE", Meaning: "DNSWL: a legitimate sender that also sends spam (trust none)", Value: -0.1},
			1: {Name: "LOW", Meaning: "DNSWL: a legitimate sender (trust low)", Value: -0.3},
			2: {Name: "MED", Meaning: "DNSWL: a legitimate sender (trust medium)", Value: -0.6},
			3: {Name: "HI", Meaning: "DNSWL: a legitimate sender (trust high)", Value: -1},
		},
		ErrorCodes: map[netip.Addr]string{
			ip4("127.0.0.255"): "DNSWL: query refused (over the free-use limit or through a public resolver)",
		},
		TestEntry:      "127.0.0.2",
		NotListedEntry: "127.0.0.1",
	}
}
