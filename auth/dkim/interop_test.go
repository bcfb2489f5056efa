package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Interoperability with independent DKIM implementations packaged by
// Debian, in both directions:
//
//   - Mail::DKIM (libmail-dkim-perl): RSA. Debian 12's 1.20230212 has no
//     ed25519-sha256 (no Mail::DKIM::Algorithm::ed25519_sha256; it arrived
//     in a later release), so it is not asked to handle Ed25519.
//   - dkimpy (python3-dkim, with python3-nacl for Ed25519): RSA and
//     Ed25519.
//   - OpenDKIM's opendkim-testmsg (opendkim-tools): it can only sign, with
//     rsa-sha1 relaxed/simple hard-wired (its verify mode needs live DNS
//     on port 53). Its signatures must be refused (RFC 8301), and pass in
//     the tests' legacy mode, which checks the rest of the verification.
//
// The peers fetch keys from the same dnstest server as we do, over real
// DNS on the loopback. A peer that is not installed skips its subtests
// with the package to install.

// interopMessage exercises canonicalization: folded and repeated fields,
// trailing white space, tabs, runs of spaces, empty lines inside and at the
// end of the body.
const interopMessage = "Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n" +
	"\tby mx.example.net with ESMTPS id 4Zx9;\r\n" +
	"\tTue, 24 Nov 2026 10:00:00 +0000\r\n" +
	"Received: from localhost by mail.example.org; Tue, 24 Nov 2026 09:59:59 +0000\r\n" +
	"From: \"Alice Example\" <alice@example.com>\r\n" +
	"To: bob@example.net,\r\n" +
	"    carol@example.net\r\n" +
	"Subject:   Quarterly   report\t(draft) \r\n" +
	"Date: Tue, 24 Nov 2026 09:59:58 +0000\r\n" +
	"Message-ID: <interop-1@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello Bob,  \r\n" +
	"\r\n" +
	"The numbers:\t42\tand  17.\r\n" +
	"  Indented line with trailing tab\t\r\n" +
	"\r\n" +
	"\r\n" +
	"Regards,\r\n" +
	"Alice\r\n" +
	"\r\n" +
	"\r\n"

// The peer scripts work in batches (starting Perl or Python costs more
// than verifying): "verify PORT FILE..." prints "FILE<TAB>RESULT<TAB>DETAIL"
// per signature; "sign IN KEY DOMAIN SELECTOR [ALG] (CANON L OUT)..." writes
// each signature field to OUT.
const perlScript = `use strict;
use warnings;
use Mail::DKIM;
use Mail::DKIM::Verifier;
use Mail::DKIM::Signer;
use Mail::DKIM::Signature;
use Net::DNS::Resolver;

sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!\n"; local $/; my $d = <$fh>; close $fh; return $d }

my $mode = shift @ARGV;
if ($mode eq 'version') {
    print $Mail::DKIM::VERSION, "\n";
} elsif ($mode eq 'verify') {
    my $port = shift @ARGV;
    my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
        recurse => 1, tcp_timeout => 10, udp_timeout => 10, retry => 2);
    Mail::DKIM::DNS::resolver($res);
    foreach my $file (@ARGV) {
        my $v = Mail::DKIM::Verifier->new();
        $v->PRINT(slurp($file));
        $v->CLOSE;
        foreach my $sig ($v->signatures) {
            printf "%s\t%s\t%s\n", $file, $sig->result, ($sig->result_detail // '');
        }
    }
} elsif ($mode eq 'sign') {
    my ($in, $keyfile, $domain, $selector, @jobs) = @ARGV;
    my $msg = slurp($in);
    while (my ($method, $l, $out) = splice(@jobs, 0, 3)) {
        my $signer = Mail::DKIM::Signer->new(
            Algorithm => 'rsa-sha256', Method => $method, Domain => $domain,
            Selector => $selector, KeyFile => $keyfile,
            Policy => sub {
                my $s = shift;
                my $sig = Mail::DKIM::Signature->new(
                    Algorithm => 'rsa-sha256', Method => $method, Headers => $s->headers,
                    Domain => $domain, Selector => $selector, KeyFile => $keyfile,
                    Timestamp => time());
                $sig->body_count($l) if $l > 0;
                $s->add_signature($sig);
                return;
            });
        $signer->PRINT($msg);
        $signer->CLOSE;
        open my $fh, '>', $out or die "$out: $!\n";
        print $fh $signer->signature->as_string, "\r\n";
        close $fh;
    }
} else {
    die "unknown mode $mode\n";
}
`

const pythonScript = `import sys
import dkim
import dns.resolver

mode = sys.argv[1]
if mode == 'verify':
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ['127.0.0.1']
    res.port = int(sys.argv[2])
    res.lifetime = 10
    def dnsfunc(name, timeout=5):
        try:
            ans = res.resolve(name.decode().rstrip('.') + '.', 'TXT')
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b''.join(b''.join(r.strings) for r in ans)
    for f in sys.argv[3:]:
        msg = open(f, 'rb').read()
        d = dkim.DKIM(msg)
        n = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
        for i in range(n):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
                print(f, 'pass' if ok else 'fail', '-', sep='\t')
            except Exception as e:
                print(f, 'error', str(e).replace('\n', ' '), sep='\t')
elif mode == 'sign':
    infile, keyfile, domain, selector, alg = sys.argv[2:7]
    msg = open(infile, 'rb').read()
    key = open(keyfile, 'rb').read()
    jobs = sys.argv[7:]
    for i in range(0, len(jobs), 3):
        canon, length, out = jobs[i:i+3]
        h, b = canon.split('/')
        sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
            canonicalize=(h.encode(), b.encode()), signature_algorithm=alg.encode(),
            include_headers=[b'from', b'to', b'subject', b'date', b'message-id'],
            length=(length == '1'))
        open(out, 'wb').write(sig)
else:
    sys.exit('unknown mode ' + mode)
`

type peer struct {
	name    string
	cmd     []string // program and leading arguments
	version string
}

// peers finds the installed peers; the map holds a skip message for those
// missing.
func findPeers(t *testing.T) (map[string]*peer, map[string]string) {
	dir := t.TempDir()
	found, missing := map[string]*peer{}, map[string]string{}
	run := func(name string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	perlFile := filepath.Join(dir, "peer.pl")
	require.NoError(t, os.WriteFile(perlFile, []byte(perlScript), 0o600))
	if v, err := run("perl", perlFile, "version"); err == nil {
		found["Mail::DKIM"] = &peer{name: "Mail::DKIM", cmd: []string{"perl", perlFile}, version: "Mail::DKIM " + v}
	} else {
		missing["Mail::DKIM"] = fmt.Sprintf("Mail::DKIM not installed (apt-get install libmail-dkim-perl): %v %s", err, v)
	}

	python := "/usr/bin/python3" // Debian's, where python3-dkim lives
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	pyFile := filepath.Join(dir, "peer.py")
	require.NoError(t, os.WriteFile(pyFile, []byte(pythonScript), 0o600))
	if out, err := run(python, "-c", "import dkim, nacl, dns.resolver"); err == nil {
		v, _ := run("dpkg-query", "-W", "-f=${Version}", "python3-dkim")
		found["dkimpy"] = &peer{name: "dkimpy", cmd: []string{python, pyFile}, version: "dkimpy (python3-dkim) " + v}
	} else {
		missing["dkimpy"] = fmt.Sprintf("dkimpy not installed (apt-get install python3-dkim python3-nacl): %v %s", err, out)
	}

	if path, err := exec.LookPath("opendkim-testmsg"); err == nil {
		v, _ := run("dpkg-query", "-W", "-f=${Version}", "opendkim-tools")
		found["opendkim"] = &peer{name: "opendkim", cmd: []string{path}, version: "opendkim-testmsg " + v}
	} else if _, err := os.Stat("/usr/sbin/opendkim-testmsg"); err == nil {
		v, _ := run("dpkg-query", "-W", "-f=${Version}", "opendkim-tools")
		found["opendkim"] = &peer{name: "opendkim", cmd: []string{"/usr/sbin/opendkim-testmsg"}, version: "opendkim-testmsg " + v}
	} else {
		missing["opendkim"] = "opendkim-testmsg not installed (apt-get install opendkim-tools)"
	}
	for _, p := range found {
		t.Logf("peer: %s", p.version)
	}
	return found, missing
}

// exec runs the peer with stdin and returns its standard output.
func (p *peer) run(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.cmd[0], append(p.cmd[1:], args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "%s %v: %s", p.name, args, errb.String())
	return out.String()
}

// writeKeys writes the test keys in the forms the peers read.
func writeKeys(t *testing.T, rsaKey *rsa.PrivateKey, edKey ed25519.PrivateKey) (rsaPEM, edSeed string) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "rsa2048.pem")) // PKCS#1, as Mail::DKIM wants
	require.NoError(t, err)
	rsaPEM = filepath.Join(dir, "rsa.pem")
	require.NoError(t, os.WriteFile(rsaPEM, b, 0o600))
	edSeed = filepath.Join(dir, "ed25519.b64") // dkimpy: the base64 32-octet seed
	require.NoError(t, os.WriteFile(edSeed, []byte(base64.StdEncoding.EncodeToString(edKey.Seed())), 0o600))
	return rsaPEM, edSeed
}

// verifyWith has a peer verify the messages, in one run, and returns the
// results of each message's signatures, "pass" or another word with
// the peer's detail.
func (p *peer) verifyWith(t *testing.T, port string, msgs map[string][]byte) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"verify", port}
	byFile := map[string]string{}
	for name, m := range msgs {
		f := filepath.Join(dir, fmt.Sprintf("m%d.eml", len(args)))
		require.NoError(t, os.WriteFile(f, m, 0o600))
		args = append(args, f)
		byFile[f] = name
	}
	out := map[string][]string{}
	for line := range strings.Lines(p.run(t, nil, args...)) {
		f, rest, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "\t")
		require.True(t, ok, "peer output %q", line)
		out[byFile[f]] = append(out[byFile[f]], rest)
	}
	return out
}

func TestInteropOursVerifiedByPeers(t *testing.T) {
	peers, missing := findPeers(t)
	rsaKey := loadKey(t, "rsa2048.pem").(*rsa.PrivateKey)
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	srv, _ := dnsServer(t, map[string]string{
		"rsa._domainkey.example.com": keyRecord(t, &rsaKey.PublicKey, ""),
		"ed._domainkey.example.com":  keyRecord(t, edKey.Public(), ""),
	})
	port := srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:]

	// Sign every variant with our Signer; each peer verifies the
	// messages it supports, and a copy with a changed signed line, which
	// must not pass (so the peer is not just saying yes).
	batches := map[string]map[string][]byte{}
	for _, k := range []struct {
		sel   string
		key   crypto.Signer
		peers []string
	}{{"rsa", rsaKey, []string{"Mail::DKIM", "dkimpy"}}, {"ed", edKey, []string{"dkimpy"}}} {
		for _, canon := range [][2]Canonicalization{{Relaxed, Relaxed}, {Simple, Simple}, {Relaxed, Simple}, {Simple, Relaxed}} {
			for _, l := range []bool{false, true} {
				s, err := NewSigner(SignOptions{Domain: "example.com", Selector: k.sel, Key: k.key,
					HeaderCanonicalization: canon[0], BodyCanonicalization: canon[1], BodyLength: l})
				require.NoError(t, err)
				field, err := s.Sign(strings.NewReader(interopMessage))
				require.NoError(t, err)
				signed := []byte(field + interopMessage)
				name := fmt.Sprintf("%s/%s-%s/l=%v", k.sel, canon[0], canon[1], l)
				for _, p := range k.peers {
					if batches[p] == nil {
						batches[p] = map[string][]byte{}
					}
					batches[p][name] = signed
					batches[p][name+"/tampered"] = bytes.Replace(signed, []byte("numbers"), []byte("Numbers"), 1)
				}
			}
		}
	}
	for _, name := range []string{"Mail::DKIM", "dkimpy"} {
		t.Run(name, func(t *testing.T) {
			p := peers[name]
			if p == nil {
				t.Skip(missing[name])
			}
			results := p.verifyWith(t, port, batches[name])
			require.Len(t, results, len(batches[name]), "a result for every message")
			for msg, res := range results {
				require.Len(t, res, 1, msg)
				word, _, _ := strings.Cut(res[0], "\t")
				if strings.HasSuffix(msg, "/tampered") {
					require.NotEqual(t, "pass", word, "%s: %s accepted a changed body", msg, name)
				} else {
					require.Equal(t, "pass", word, "%s: %s says %q for\n%s", msg, name, res[0], batches[name][msg])
				}
			}
			t.Logf("%s verified %d messages signed here (and refused %d altered copies)", p.version, len(batches[name])/2, len(batches[name])/2)
		})
	}
}

// signWith has a peer sign interopMessage once per job (canonicalization,
// l= flag or count), in one run, and returns the signature fields.
func (p *peer) signWith(t *testing.T, head []string, jobs [][2]string) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.eml")
	require.NoError(t, os.WriteFile(in, []byte(interopMessage), 0o600))
	args := append([]string{"sign", in}, head...)
	var outs []string
	for i, j := range jobs {
		out := filepath.Join(dir, fmt.Sprintf("sig%d", i))
		args = append(args, j[0], j[1], out)
		outs = append(outs, out)
	}
	p.run(t, nil, args...)
	fields := make([]string, len(outs))
	for i, f := range outs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		fields[i] = string(b)
		require.True(t, strings.HasPrefix(fields[i], "DKIM-Signature:"), fields[i])
	}
	return fields
}

func TestInteropPeersVerifiedByOurs(t *testing.T) {
	peers, missing := findPeers(t)
	rsaKey := loadKey(t, "rsa2048.pem").(*rsa.PrivateKey)
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	rsaPEM, edSeed := writeKeys(t, rsaKey, edKey)
	_, r := dnsServer(t, map[string]string{
		"rsa._domainkey.example.com": keyRecord(t, &rsaKey.PublicKey, ""),
		"ed._domainkey.example.com":  keyRecord(t, edKey.Public(), ""),
	})
	v := newVerifier(t, Options{Resolver: r})
	legacy := newVerifier(t, Options{Resolver: r})
	legacy.legacy = true

	// check verifies a peer's signature: pass, the algorithm and l= as
	// signed, appending allowed only under l=, and a changed signed line
	// fails.
	check := func(t *testing.T, field, wantAlg string, l bool) {
		t.Helper()
		signed := []byte(field + interopMessage)
		res := verifyBytes(t, v, signed)
		require.Len(t, res, 1)
		require.Equal(t, StatusPass, res[0].Status, "%v\n%s", res[0].Err, signed)
		require.Equal(t, wantAlg, res[0].Algorithm)
		require.Equal(t, l, res[0].BodyLength.Limited)
		res = verifyBytes(t, v, append(bytes.Clone(signed), "P.S. unsigned\r\n"...))
		if l {
			require.Equal(t, StatusPass, res[0].Status)
			require.Positive(t, res[0].BodyLength.Unsigned(), "content after l= is reported")
		} else {
			require.Equal(t, StatusFail, res[0].Status)
			require.ErrorIs(t, res[0].Err, ErrBodyHashMismatch)
		}
		res = verifyBytes(t, v, bytes.Replace(signed, []byte("Hello Bob"), []byte("Hello Eve"), 1))
		require.Equal(t, StatusFail, res[0].Status)
	}

	t.Run("Mail::DKIM", func(t *testing.T) {
		p := peers["Mail::DKIM"]
		if p == nil {
			t.Skip(missing["Mail::DKIM"])
		}
		var jobs [][2]string
		for _, method := range []string{"relaxed", "simple", "relaxed/simple", "simple/relaxed", "relaxed/relaxed"} {
			for _, l := range []string{"0", "40"} {
				jobs = append(jobs, [2]string{method, l})
			}
		}
		fields := p.signWith(t, []string{rsaPEM, "example.com", "rsa"}, jobs)
		for i, j := range jobs {
			t.Run(j[0]+"/l="+j[1], func(t *testing.T) {
				require.Contains(t, fields[i], "a=rsa-sha256")
				check(t, fields[i], "rsa-sha256", j[1] != "0")
			})
		}
		t.Logf("%d messages signed by %s verified here", len(jobs), p.version)
	})

	t.Run("dkimpy", func(t *testing.T) {
		p := peers["dkimpy"]
		if p == nil {
			t.Skip(missing["dkimpy"])
		}
		for _, k := range []struct{ sel, keyFile, alg string }{{"rsa", rsaPEM, "rsa-sha256"}, {"ed", edSeed, "ed25519-sha256"}} {
			var jobs [][2]string
			for _, canon := range []string{"relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"} {
				for _, l := range []string{"0", "1"} {
					jobs = append(jobs, [2]string{canon, l})
				}
			}
			fields := p.signWith(t, []string{k.keyFile, "example.com", k.sel, k.alg}, jobs)
			for i, j := range jobs {
				t.Run(k.sel+"/"+j[0]+"/l="+j[1], func(t *testing.T) {
					require.Contains(t, fields[i], "a="+k.alg)
					check(t, fields[i], k.alg, j[1] == "1")
				})
			}
			t.Logf("%d %s messages signed by %s verified here", len(jobs), k.alg, p.version)
		}
	})

	t.Run("opendkim/rsa-sha1", func(t *testing.T) {
		p := peers["opendkim"]
		if p == nil {
			t.Skip(missing["opendkim"])
		}
		// -C keeps CRLF (without it, the tool's CR stripping leaves
		// stray characters after b=).
		out := p.run(t, []byte(interopMessage), "-C", "-d", "example.com", "-s", "rsa", "-k", rsaPEM)
		require.True(t, strings.HasPrefix(out, "DKIM-Signature:"), out)
		require.Contains(t, out, "a=rsa-sha1")
		signed := []byte(out)
		res := verifyBytes(t, v, signed)
		require.Len(t, res, 1)
		require.Equal(t, StatusPermError, res[0].Status, "RFC 8301: rsa-sha1 is never valid")
		require.ErrorIs(t, res[0].Err, ErrSHA1)
		// The rest of the verification agrees with OpenDKIM.
		res = verifyBytes(t, legacy, signed)
		require.Equal(t, StatusPass, res[0].Status, "%v\n%s", res[0].Err, signed)
		res = verifyBytes(t, legacy, bytes.Replace(signed, []byte("Hello Bob"), []byte("Hello Eve"), 1))
		require.Equal(t, StatusFail, res[0].Status)
	})
}
