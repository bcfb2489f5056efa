//go:debug rsa1024min=0

// The legacy runs below verify 512- and 768-bit RSA signatures, which the
// Go runtime refuses unless told otherwise; the verifier's own RFC 8301
// checks do not depend on this setting.

package dkim

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
	"github.com/mailscore/mailscore/internal/testdata"
)

type want struct {
	status Status
	err    error // nil for pass
}

// Why an RFC 6376 + RFC 8301 verifier's result differs from Mail::DKIM's.
const (
	whyDK        = "DomainKeys (RFC 4870, historic) only: no DKIM-Signature field, so no DKIM result (RFC 8601 none); Mail::DKIM verifies DomainKeys too"
	whySHA1      = "a=rsa-sha1: RFC 8301 section 3.1 forbids verifiers to consider it valid (permerror)"
	whySHA1Short = whySHA1 + "; its 512-bit key is also under the 1024 bits RFC 8301 section 3.2 requires"
	whyNoV       = "no v= tag: a pre-RFC draft (ietf-01) signature, and RFC 6376 section 3.5 requires v=1 (permerror)"
	whyNoV768    = whyNoV + "; its 768-bit key is also under the 1024 bits RFC 8301 section 3.2 requires"
	whyV05       = "v=0.5: a pre-RFC 4871 draft signature; RFC 6376 sections 3.5 and 6.1.1 require v=1 (permerror), and it is rsa-sha1 (RFC 8301)"
	whyIetf00    = "no v= and no bh=: an ietf-00 draft signature, which signed the body inside b=; RFC 6376 requires both tags (permerror). Mail::DKIM's own suite skips these, and its 768-bit key is under RFC 8301's minimum"
	whyG         = "the key has a g= tag (RFC 4871 granularity), which RFC 6376 removed from key records (section 3.6.1 defines no g=, and unknown tags are ignored): the legacy run passes where Mail::DKIM, applying g=, says invalid"
)

// mailDKIMCorpus holds, for each message of Mail::DKIM's corpus, the result
// of each DKIM-Signature (in header order) for:
//
//   - rfc: this verifier as it is, RFC 6376 + RFC 8301 + RFC 8463 (the
//     acceptance requirement);
//   - legacy: the verifier's tests-only legacy mode, which also accepts
//     rsa-sha1, RSA keys from 512 bits and pre-RFC drafts (no v=, v=0.5,
//     q=dns), so the rest of the verifier (canonicalization, key records,
//     tags) is checked against Mail::DKIM's expectations;
//
// and why each differs from Mail::DKIM's message-level expectation in
// MANIFEST.tsv (why for rfc, lwhy for legacy; empty means it agrees). The
// comment above each case is MANIFEST.tsv's description of the message.
var mailDKIMCorpus = []struct {
	file        string
	rfc, legacy []want
	why, lwhy   string
}{
	// DKIM:a=rsa-sha256,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768 openssl error
	{"bad_1.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusFail, ErrSignatureMismatch}}, whyNoV768, ""},
	// DKIM:a=rsa-sha1,c=relaxed/simple,d=ijs.si,s=jakla2,key=1024 shouldn't die
	{"bad_1878954.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusFail, ErrBodyHashMismatch}}, whySHA1, ""},
	// DK:a=rsa-sha1,c=nofws,d=messiah.edu,s=test1,key=512 sig. domain != From header (no Sender)
	{"bad_dk_1.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 added Sender header, no h= tag
	{"bad_dk_2.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 no q= tag
	{"bad_dk_3.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 empty q= tag
	{"bad_dk_4.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 unrecognized q= tag
	{"bad_dk_5.txt", nil, nil, whyDK, whyDK},
	// DKIM:a=rsa-sha256,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768
	{"bad_ietf01_1.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusFail, ErrBodyHashMismatch}}, whyNoV768, ""},
	// DKIM:a=rsa-sha256,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768
	{"bad_ietf01_2.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusFail, ErrSignatureMismatch}}, whyNoV768, ""},
	// DKIM:a=rsa-sha256,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768
	{"bad_ietf01_3.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusFail, ErrSignatureMismatch}}, whyNoV768, ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=invalid,key=ed25519(44B) key has invalid length
	{"badkey1_ed25519.txt", []want{{StatusPermError, ErrKeySyntax}}, []want{{StatusPermError, ErrKeySyntax}}, "", ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=2023-05-ed25519,key=ed25519(32B header modified
	{"badkey2_ed25519.txt", []want{{StatusFail, ErrSignatureMismatch}}, []want{{StatusFail, ErrSignatureMismatch}}, "", ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=2023-05-ed25519,key=ed25519(32B body modified
	{"badkey3_ed25519.txt", []want{{StatusFail, ErrBodyHashMismatch}}, []want{{StatusFail, ErrBodyHashMismatch}}, "", ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=2023-05-ed25519-does-not-exist, missing key
	{"badkey4_ed25519.txt", []want{{StatusPermError, ErrKeyNotFound}}, []want{{StatusPermError, ErrKeyNotFound}}, "", ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=2023-05-ed25519-empty,key= empty key
	{"badkey5_ed25519.txt", []want{{StatusPermError, ErrKeySyntax}}, []want{{StatusPermError, ErrKeySyntax}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=nonexistent,key=NXDOMAIN public key NXDOMAIN
	{"badkey_1.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeyNotFound}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test5,key=512 public key requires i == d
	{"badkey_10.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPermError, ErrIdentityMismatch}}, "", ""},
	// DKIM:a=rsa-sha256,c=simple,d=messiah.edu,s=test2,key=512 public key unmatched h= tag
	{"badkey_11.txt", []want{{StatusPermError, ErrKeyUnsuitable}}, []want{{StatusPermError, ErrKeyUnsuitable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 public key g= != i= by case
	{"badkey_12.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, "", whyG},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 public key g= matches From but not i=
	{"badkey_13.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, "", whyG},
	// DKIM:a=rsa-sha1,c=simple,d=blackhole.messiah.edu,s=test3,key=~~Query timed out~~ dns error (timeout)
	{"badkey_14.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusTempError, ErrKeyUnavailable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=blackhole2.messiah.edu,s=test3,key=~~SERVFAIL~~ dns error (SERVFAIL)
	{"badkey_15.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusTempError, ErrKeyUnavailable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testrevoked,key= public key REVOKED
	{"badkey_2.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeyRevoked}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad1,key=512 public key unsupported v= tag
	{"badkey_3.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeySyntax}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad2,key=512 public key syntax error
	{"badkey_4.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeySyntax}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad3,key=512 public key unsupported k= tag
	{"badkey_5.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeyUnsuitable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad4,key=512 public key unsupported s= tag
	{"badkey_6.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeyUnsuitable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad7,key=512 public key unsupported h= tag
	{"badkey_7.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrKeyUnsuitable}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=testbad8,key=512 public key unmatched g= tag
	{"badkey_8.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, "", whyG},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test4,key=512 public key empty g= tag
	{"badkey_9.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, "", whyG},
	// DK:a=rsa-sha1,c=nofws,d=gmail.com,s=beta,key=1024
	{"dk_headers_1.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=gmail.com,s=beta,key=1024
	{"dk_headers_2.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 | DK:a=rsa-sha1,c=nofws,d=gmail.com,s
	{"dk_multiple_1.txt", nil, nil, whyDK, whyDK},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 test issue #1878523
	{"good_1878523.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test6,key=1024 test issue #83176
	{"good_83176.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1, ""},
	// DK:a=rsa-sha1,c=nofws,d=yahoo.com,s=s1024,key=1024
	{"good_dk_1.txt", nil, nil, whyDK, whyDK},
	// DK:a=,c=nofws,d=yahoo.com,s=s1024,key=1024
	{"good_dk_2.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=messiah.edu,s=test3,key=512 key with g= tag (ident in From header)
	{"good_dk_3.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=messiah.edu,s=test3,key=512 key with g= tag (ident in Sender head)
	{"good_dk_4.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=messiah.edu,s=test4,key=512 key with empty g=
	{"good_dk_5.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 no h= tag
	{"good_dk_6.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 case-differing domain names
	{"good_dk_7.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=gmail.com,s=beta,key=1024
	{"good_dk_gmail.txt", nil, nil, whyDK, whyDK},
	// DK:a=rsa-sha1,c=nofws,d=yahoo.com,s=s1024,key=1024
	{"good_dk_yahoo.txt", nil, nil, whyDK, whyDK},
	// DKIM:a=rsa-sha1,c=relaxed/simple,d=vmt2.cis.att.net,s=foo,key=768
	{"good_ietf00_1.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrSyntax}}, whyIetf00, whyIetf00},
	// DKIM:a=rsa-sha1,c=relaxed/relaxed,d=vmt2.cis.att.net,s=foo,key=768
	{"good_ietf00_2.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrSyntax}}, whyIetf00, whyIetf00},
	// DKIM:a=rsa-sha1,c=relaxed,d=vmt2.cis.att.net,s=foo,key=768
	{"good_ietf00_3.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrSyntax}}, whyIetf00, whyIetf00},
	// DKIM:a=rsa-sha1,c=simple/simple,d=vmt2.cis.att.net,s=foo,key=768
	{"good_ietf00_4.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrSyntax}}, whyIetf00, whyIetf00},
	// DKIM:a=rsa-sha1,c=simple,d=vmt2.cis.att.net,s=foo,key=768
	{"good_ietf00_5.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrSyntax}}, whyIetf00, whyIetf00},
	// DKIM:a=rsa-sha256,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768
	{"good_ietf01_1.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV768, ""},
	// DKIM:a=rsa-sha1,c=relaxed,d=vmt2.cis.att.net,s=shan,key=768
	{"good_ietf01_2.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV768, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 tests i= quoted-printable value
	{"good_qp_1.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 tests i= quoted-printable value
	{"good_qp_2.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 tests i= quoted-printable value
	{"good_qp_3.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 tests extra tags in signature
	{"good_rfc4871_3.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 case-differing domain name
	{"good_rfc4871_4.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 public key with s=email
	{"goodkey_1.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test2,key=512 public key with extra tags, h=, s=, etc.
	{"goodkey_2.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test3,key=512 public key with g=jl*g
	{"goodkey_3.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 public key with implied g
	{"goodkey_4.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPass, nil}}, whySHA1Short, ""},
	// DKIM:a=ed25519-sha256,c=relaxed/relaxed,d=wander.science,s=2023-05-ed25519,key=ed25519(32B
	{"goodkey_ed25519.txt", []want{{StatusPass, nil}}, []want{{StatusPass, nil}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024 unsupported v= tag (v=5)
	{"ignore_1.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrVersion}}, "", ""},
	// DKIM:a=rsa-md5,c=simple,d=messiah.edu,s=selector1,key=1024 unsupported a= tag (a=rsa-md5)
	{"ignore_2.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrAlgorithm}}, "", ""},
	// DKIM:a=dsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024 unsupported a= tag (a=dsa-sha1)
	{"ignore_3.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrAlgorithm}}, "", ""},
	// DKIM:a=rsa-sha1,c=future,d=messiah.edu,s=selector1,key=1024 unsupported c= tag (c=future)
	{"ignore_4.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPermError, ErrCanonicalization}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 unsupported q= tag (q=http)
	{"ignore_5.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPermError, ErrQueryMethod}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 unsupported q= tag (q=dns/special)
	{"ignore_6.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPermError, ErrQueryMethod}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024 expired signature
	{"ignore_7.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPermError, ErrExpired}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=test1,key=512 bad i= value
	{"ignore_8.txt", []want{{StatusPermError, ErrSHA1}}, []want{{StatusPermError, ErrIdentityMismatch}}, "", ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024
	{"mine_ietf01_1.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV, ""},
	// DKIM:a=rsa-sha1,c=relaxed,d=messiah.edu,s=selector1,key=1024
	{"mine_ietf01_2.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV, ""},
	// DKIM:a=rsa-sha256,c=simple,d=messiah.edu,s=selector1,key=1024
	{"mine_ietf01_3.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV, ""},
	// DKIM:a=rsa-sha256,c=relaxed,d=messiah.edu,s=selector1,key=1024
	{"mine_ietf01_4.txt", []want{{StatusPermError, ErrSyntax}}, []want{{StatusPass, nil}}, whyNoV, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024
	{"mine_ietf05_1.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPass, nil}}, whyV05, ""},
	// DKIM:a=rsa-sha256,c=simple,d=vmt2.cis.att.net,s=shan,key=768 | DKIM:a=rsa-sha256,c=relaxed
	{"multiple_1.txt", []want{{StatusPermError, ErrSyntax}, {StatusPermError, ErrSyntax}, {StatusPermError, ErrSyntax}, {StatusPermError, ErrSyntax}}, []want{{StatusFail, ErrSignatureMismatch}, {StatusPass, nil}, {StatusPermError, ErrSyntax}, {StatusFail, ErrSignatureMismatch}}, whyNoV768, ""},
	// DKIM:a=rsa-sha1,c=foobar,d=messiah.edu,s=selector1,key=1024 | DKIM:a=rsa-sha1,c=simple,d=m
	{"multiple_2.txt", []want{{StatusPermError, ErrSHA1}, {StatusPermError, ErrSHA1}, {StatusPermError, ErrSHA1}, {StatusPermError, ErrSyntax}}, []want{{StatusPermError, ErrCanonicalization}, {StatusPass, nil}, {StatusFail, ErrSignatureMismatch}, {StatusPermError, ErrSyntax}}, whySHA1, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024
	{"no_body_1.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPass, nil}}, whyV05, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024
	{"no_body_2.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPass, nil}}, whyV05, ""},
	// DKIM:a=rsa-sha1,c=simple,d=messiah.edu,s=selector1,key=1024
	{"no_body_3.txt", []want{{StatusPermError, ErrVersion}}, []want{{StatusPass, nil}}, whyV05, ""},
}

// mailDKIMWord maps a message's results to Mail::DKIM's vocabulary: pass if
// any signature passes, else fail if any fails, else invalid; "none"
// without DKIM signatures.
func mailDKIMWord(res []Result) string {
	if len(res) == 0 {
		return "none"
	}
	word := "invalid"
	for _, r := range res {
		switch r.Status {
		case StatusPass:
			return "pass"
		case StatusFail:
			word = "fail"
		}
	}
	return word
}

// mailDKIMServer serves FAKE_DNS.dat: "NXDOMAIN" is left out, "~~Query
// timed out~~" is dropped, "~~SERVFAIL~~" answers SERVFAIL, and "\"\"" is
// an empty TXT record.
func mailDKIMServer(t *testing.T, dir string) dnsutil.Resolver {
	srv := dnstest.New(t, "")
	f, err := os.Open(filepath.Join(dir, "FAKE_DNS.dat"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		require.True(t, ok, line)
		switch value = strings.TrimSpace(value); value {
		case "NXDOMAIN":
		case "~~Query timed out~~":
			srv.SetFault(name, dns.TypeTXT, dnstest.Fault{Drop: true})
		case "~~SERVFAIL~~":
			srv.SetFault(name, dns.TypeTXT, dnstest.Fault{ServFail: true})
		case `""`:
			srv.AddRR(txtRR(name, ""))
		default:
			srv.AddRR(txtRR(name, value))
		}
		n++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 26, n, "FAKE_DNS.dat entries")
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)
	return r
}

// TestMailDKIMCorpus runs Mail::DKIM's 79-message corpus with the keys of
// FAKE_DNS.dat served by dnstest.
func TestMailDKIMCorpus(t *testing.T) {
	dir := testdata.Dir(t, "dkim", "mail-dkim")
	expected := map[string]string{}
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	require.NoError(t, err)
	for line := range strings.Lines(string(manifest)) {
		if cols := strings.Split(line, "\t"); len(cols) > 2 && !strings.HasPrefix(line, "#") {
			expected[cols[0]] = cols[1]
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "corpus", "*.txt"))
	require.NoError(t, err)
	require.Len(t, files, 79)
	require.Len(t, mailDKIMCorpus, 79)

	r := mailDKIMServer(t, dir)
	v := newVerifier(t, Options{Resolver: r})
	lv := newVerifier(t, Options{Resolver: r})
	lv.legacy = true

	counts := map[Status]int{}
	agree := 0
	for _, c := range mailDKIMCorpus {
		t.Run(c.file, func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join(dir, "corpus", c.file))
			require.NoError(t, err)
			md, ok := expected[c.file]
			require.True(t, ok, "not in MANIFEST.tsv")
			for _, run := range []struct {
				name string
				v    *Verifier
				want []want
				why  string
			}{{"rfc", v, c.rfc, c.why}, {"legacy", lv, c.legacy, c.lwhy}} {
				res := verifyBytes(t, run.v, msg)
				require.Len(t, res, len(run.want), run.name)
				for i, w := range run.want {
					require.Equal(t, w.status, res[i].Status, "%s: signature %d: %v", run.name, i, res[i].Err)
					if w.err == nil {
						require.NoError(t, res[i].Err, run.name)
					} else {
						require.ErrorIs(t, res[i].Err, w.err, "%s: signature %d", run.name, i)
					}
					if run.name == "rfc" {
						counts[res[i].Status]++
					}
				}
				got := mailDKIMWord(res)
				if run.why == "" {
					require.Equal(t, md, got, "%s: agrees with Mail::DKIM (no reason given to differ)", run.name)
				} else {
					require.NotEqual(t, md, got, "%s: a reason is given, so it must differ from Mail::DKIM", run.name)
					t.Logf("%s: Mail::DKIM %s, here %s: %s", run.name, md, got, run.why)
				}
				if run.name == "rfc" && got == md {
					agree++
				}
			}
		})
	}
	t.Logf("RFC results per signature: %v; messages agreeing with Mail::DKIM: %d of %d", counts, agree, len(mailDKIMCorpus))
}
