package arc

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/auth/authres"
)

// Interoperability with dkimpy (Debian's python3-dkim, with python3-authres
// for its ARC signer), in both directions:
// chains we seal are validated by dkim.arc_verify, and ARC Sets dkimpy adds
// (dkim.ARC.sign) are validated by us, mixed into one chain with ours. The
// peer fetches keys from the same dnstest server over real DNS on the
// loopback. dkimpy's ARC code (1.1.4) knows rsa-sha256 only, so the
// chains it checks are RSA; an Ed25519 seal is sent too and its answer
// logged. Without dkimpy the test skips and names the packages to install.

const arcPeerScript = `import sys
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
        try:
            cv, results, reason = dkim.arc_verify(open(f, 'rb').read(), dnsfunc=dnsfunc)
            cv = cv.decode() if cv is not None else 'ended'
        except Exception as e:
            cv, reason = 'error', str(e)
        print(f, cv, str(reason).replace('\n', ' '), sep='\t')
elif mode == 'sign':
    infile, keyfile, domain, selector, srvid, outfile = sys.argv[2:8]
    msg = open(infile, 'rb').read()
    key = open(keyfile, 'rb').read()
    fields = dkim.arc_sign(msg, selector.encode(), domain.encode(), key, srvid.encode())
    open(outfile, 'wb').write(b''.join(fields))
else:
    sys.exit('unknown mode ' + mode)
`

type arcPeer struct {
	cmd []string
	dir string
	// noSign says why dkimpy cannot sign ARC here ("" when it can): its
	// ARC signer needs python3-authres, which python3-dkim only suggests.
	noSign string
}

func findDkimpy(t *testing.T) *arcPeer {
	python := "/usr/bin/python3" // Debian's, where python3-dkim lives
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, python, "-c", "import dkim, dns.resolver; dkim.ARC").CombinedOutput(); err != nil {
		t.Skipf("dkimpy with ARC not available (apt-get install python3-dkim): %v %s", err, out)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "arcpeer.py")
	require.NoError(t, os.WriteFile(script, []byte(arcPeerScript), 0o600))
	p := &arcPeer{cmd: []string{python, script}, dir: dir}
	if out, err := exec.CommandContext(ctx, python, "-c", "import authres").CombinedOutput(); err != nil {
		p.noSign = fmt.Sprintf("dkimpy's ARC signer needs authres (apt-get install python3-authres): %v %s", err, out)
	}
	return p
}

func (p *arcPeer) run(t *testing.T, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, p.cmd[0], append(p.cmd[1:], args...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// verify asks dkimpy for the cv of each message; "ended" is its answer
// for a chain whose newest seal says cv=fail.
func (p *arcPeer) verify(t *testing.T, port string, msgs map[string]string) map[string]string {
	var files []string
	for name, m := range msgs {
		f := filepath.Join(p.dir, name+".eml")
		require.NoError(t, os.WriteFile(f, []byte(m), 0o600))
		files = append(files, f)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(p.run(t, append([]string{"verify", port}, files...)...)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		require.Len(t, parts, 3, line)
		got[strings.TrimSuffix(filepath.Base(parts[0]), ".eml")] = parts[1] + "\t" + parts[2]
	}
	return got
}

// sign has dkimpy add an ARC Set for srvid's Authentication-Results.
func (p *arcPeer) sign(t *testing.T, msg, keyPEM, domain, selector, srvid string) string {
	in := filepath.Join(p.dir, "in.eml")
	key := filepath.Join(p.dir, "key.pem")
	out := filepath.Join(p.dir, "out.txt")
	require.NoError(t, os.WriteFile(in, []byte(msg), 0o600))
	require.NoError(t, os.WriteFile(key, []byte(keyPEM), 0o600))
	p.run(t, "sign", in, key, domain, selector, srvid, out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return string(b)
}

func TestInteropDkimpy(t *testing.T) {
	peer := findDkimpy(t)
	w := newWorld(t)
	now := func() time.Time { return time.Now() }
	for _, s := range []**Sealer{&w.listS, &w.fwdS, &w.edS} {
		(*s).now = now
	}
	port := w.srv.Addr()[strings.LastIndexByte(w.srv.Addr(), ':')+1:]
	ctx := context.Background()

	// rsaHops seals at the list, the forwarder and the list again, so
	// that dkimpy can check every seal (its ARC code has no Ed25519).
	rsaHops := func(change func(hop int, m string) string) string {
		at := func(hop int) func(string) string {
			return func(m string) string {
				if change == nil {
					return m
				}
				return change(hop, m)
			}
		}
		m := seal(t, w.v, w.listS, baseMessage, firstResults(), at(1))
		m = seal(t, w.v, w.fwdS, m, laterResults("mx.fwd.example.org"), at(2))
		return seal(t, w.v, w.listS, m, laterResults("mx.lists.example.net"), at(3))
	}

	t.Run("ours validated by dkimpy", func(t *testing.T) {
		one := seal(t, w.v, w.listS, baseMessage, firstResults())
		three := rsaHops(nil)
		modified := rsaHops(func(hop int, m string) string {
			if hop == 2 {
				return strings.Replace(m, "Subject: Hello", "Subject: [list] Hello", 1)
			}
			return m
		})
		broken := seal(t, w.v, w.fwdS, strings.Replace(one, "Hello,", "Goodbye,", 1), laterResults("mx.fwd.example.org"))
		msgs := map[string]string{
			"one":          one,
			"three-hops":   three,
			"oldest-pass2": modified,
			"tampered":     three + "appended\r\n",
			"resealed":     strings.Replace(three, "dmarc=pass", "dmarc=fail", 1),
			"sealed-fail":  broken,
			"ed25519":      seal(t, w.v, w.edS, baseMessage, firstResults()),
		}
		want := map[string]string{
			"one": "pass", "three-hops": "pass", "oldest-pass2": "pass",
			"tampered": "fail", "resealed": "fail", "sealed-fail": "ended",
		}
		got := peer.verify(t, port, msgs)
		for name, m := range msgs {
			ours := w.v.Validate(ctx, mustMessage(t, m))
			cv, reason, _ := strings.Cut(got[name], "\t")
			if name == "ed25519" {
				require.Equal(t, StatusPass, ours.Status)
				if cv != "pass" {
					require.Contains(t, reason, "ed25519-sha256", "dkimpy's only objection is the algorithm")
					t.Logf("dkimpy's ARC does not know ed25519-sha256 (%q): Ed25519 seals checked by us only", reason)
				}
				continue
			}
			require.Equal(t, want[name], cv, "%s: dkimpy says %s", name, got[name])
			if want[name] == "ended" {
				require.Equal(t, StatusFail, ours.Status, name)
				require.ErrorIs(t, ours.Err, ErrChainEnded)
			} else {
				require.Equal(t, Status(want[name]), ours.Status, "%s: %v", name, ours.Err)
			}
		}
		t.Logf("dkimpy on our chains: %q", got)
	})

	t.Run("dkimpy's sets validated by us", func(t *testing.T) {
		if peer.noSign != "" {
			t.Skip(peer.noSign)
		}
		keyPEM := pkcs8PEM(t, w.fwd.key)
		// Hop 1: dkimpy seals the original message, which carries its
		// Authentication-Results (arc=none: no chain yet).
		m1 := "Authentication-Results: mx.py.example; arc=none;\r\n spf=pass smtp.mailfrom=alice@example.com;\r\n dkim=pass header.d=example.com;\r\n dmarc=pass header.from=example.com\r\n" + baseMessage
		set1 := peer.sign(t, m1, keyPEM, w.fwd.domain, w.fwd.selector, "mx.py.example")
		require.Contains(t, set1, "ARC-Seal:")
		m1 = set1 + m1
		res := w.v.Validate(ctx, mustMessage(t, m1))
		require.Equal(t, StatusPass, res.Status, "%v", res.Err)
		require.Equal(t, "pass", res.FirstHop().AAR.Header.Find("dmarc")[0].Value)

		// Hop 2: we seal on top of dkimpy's set.
		m2 := seal(t, w.v, w.listS, m1, laterResults("mx.lists.example.net"))
		res = w.v.Validate(ctx, mustMessage(t, m2))
		require.Equal(t, StatusPass, res.Status, "%v", res.Err)

		// Hop 3: dkimpy again, on the mixed chain.
		ar := authres.Header{AuthServID: "mx.py3.example", Results: []authres.Result{
			authres.SPF("fail", "alice@example.com", ""), res.AuthResult(netip.MustParseAddr("192.0.2.7"))}}
		m3 := "Authentication-Results: " + ar.String() + "\r\n" + m2
		set3 := peer.sign(t, m3, keyPEM, w.fwd.domain, w.fwd.selector, "mx.py3.example")
		require.Contains(t, set3, "cv=pass")
		m3 = set3 + m3
		res = w.v.Validate(ctx, mustMessage(t, m3))
		require.Equal(t, StatusPass, res.Status, "%v", res.Err)
		require.Equal(t, 3, res.Instance)
		require.Zero(t, res.OldestPass)
		for _, s := range res.Sets {
			require.Equal(t, StatusPass, s.AMS.Status, "AMS i=%d", s.Instance)
		}
		// dkimpy agrees, and both see a change after the last seal.
		got := peer.verify(t, port, map[string]string{"mixed": m3, "mixed-tampered": strings.Replace(m3, "Subject: Hello", "Subject: Hi", 1)})
		require.True(t, strings.HasPrefix(got["mixed"], "pass\t"), got["mixed"])
		require.True(t, strings.HasPrefix(got["mixed-tampered"], "fail\t"), got["mixed-tampered"])
		res = w.v.Validate(ctx, mustMessage(t, strings.Replace(m3, "Subject: Hello", "Subject: Hi", 1)))
		require.Equal(t, StatusFail, res.Status)
		t.Logf("mixed chain dkimpy/ours/dkimpy: ours %s, dkimpy %q", StatusPass, got["mixed"])
	})
}

// pkcs8PEM returns key as a PEM "PRIVATE KEY" block; dkimpy reads RSA keys
// in that form and as "RSA PRIVATE KEY".
func pkcs8PEM(t *testing.T, key any) string {
	if _, ok := key.(ed25519.PrivateKey); ok {
		t.Fatal("dkimpy's ARC signer takes RSA keys only")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
