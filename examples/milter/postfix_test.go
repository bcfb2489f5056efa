package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// postfixInstance is a throwaway Postfix with its own configuration and
// queue in a temporary folder: smtpd on a loopback port, this filter in
// smtpd_milters, and every accepted message put on hold, so the test
// reads it back from the queue with postcat instead of delivering it.
type postfixInstance struct {
	dir, conf, smtpAddr string
}

// postfixConfig is main.cf. static:HOLD as a recipient access table puts
// every message in the hold queue; maillog_file (Postfix 3.4+, with the
// folder allowed in maillog_file_prefixes) keeps the log beside the queue
// where the test can show it.
const postfixConfig = `compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.test
mydomain = postfix.test
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access static:HOLD, permit
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
smtpd_milters = inet:{milter}
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 20s
milter_content_timeout = 30s
`

// postfixServices is master.cf: the services a message needs to reach
// the hold queue, none chrooted (the chroot would lack /etc files).
const postfixServices = `{smtp} inet n - n - - smtpd
pickup    unix  n  -  n  60   1  pickup
cleanup   unix  n  -  n  -    0  cleanup
qmgr      unix  n  -  n  300  1  qmgr
rewrite   unix  -  -  n  -    -  trivial-rewrite
bounce    unix  -  -  n  -    0  bounce
defer     unix  -  -  n  -    0  bounce
trace     unix  -  -  n  -    0  bounce
verify    unix  -  -  n  -    1  verify
proxymap  unix  -  -  n  -    -  proxymap
showq     unix  n  -  n  -    -  showq
error     unix  -  -  n  -    -  error
retry     unix  -  -  n  -    -  error
discard   unix  -  -  n  -    -  discard
anvil     unix  -  -  n  -    1  anvil
scache    unix  -  -  n  -    1  scache
postlog   unix-dgram n - n - 1 postlogd
`

// startPostfix starts the instance, or skips the test with the reason.
// Every command has a deadline and the instance is stopped and removed
// when the test ends.
func startPostfix(t *testing.T, milterAddr string) *postfixInstance {
	t.Helper()
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/postfix"); err2 != nil {
			t.Skip("postfix is not installed (Debian package postfix): skipping the end-to-end test")
		}
		postfix = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		t.Skip("Postfix's master must be started as root: skipping the end-to-end test")
	}
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("no postfix user: %v", err)
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		t.Skipf("no postdrop group: %v", err)
	}
	// A free port for smtpd (closed again; Postfix binds it a moment later).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	smtpAddr := ln.Addr().String()
	ln.Close()

	// Not t.TempDir: Postfix's daemons run as the postfix user and must
	// reach the queue, so the folder and its parents must be searchable.
	dir, err := os.MkdirTemp("", "mailscore-postfix-")
	require.NoError(t, err)
	pf := &postfixInstance{dir: dir, conf: filepath.Join(dir, "etc"), smtpAddr: smtpAddr}
	t.Cleanup(func() { pf.stop(t, postfix) })
	require.NoError(t, os.Chmod(dir, 0o755))
	for _, sub := range []string{"etc", "spool", "data"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, sub), 0o755))
	}
	uid, _ := strconv.Atoi(pfUser.Uid)
	gid, _ := strconv.Atoi(pfUser.Gid)
	require.NoError(t, os.Chown(filepath.Join(dir, "data"), uid, gid))
	r := strings.NewReplacer("{dir}", dir, "{milter}", milterAddr, "{smtp}", smtpAddr)
	require.NoError(t, os.WriteFile(filepath.Join(pf.conf, "main.cf"), []byte(r.Replace(postfixConfig)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pf.conf, "master.cf"), []byte(r.Replace(postfixServices)), 0o644))

	if out, err := pf.command(postfix, "-c", pf.conf, "start"); err != nil {
		t.Skipf("postfix cannot start here: %v\n%s\n%s", err, out, pf.maillog())
	}
	// Wait for smtpd to answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := textproto.Dial("tcp", smtpAddr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Skipf("postfix started but smtpd does not answer on %s: %v\n%s", smtpAddr, err, pf.maillog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return pf
}

// command runs a Postfix command with a deadline.
func (pf *postfixInstance) command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func (pf *postfixInstance) maillog() string {
	b, _ := os.ReadFile(filepath.Join(pf.dir, "maillog"))
	return string(b)
}

// stop stops the instance, waits for its master process to end (killing
// it, by its pid, if it will not), and removes the folder.
func (pf *postfixInstance) stop(t *testing.T, postfix string) {
	pidFile := filepath.Join(pf.dir, "spool", "pid", "master.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		_, _ = pf.command(postfix, "-c", pf.conf, "stop")
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			gone := func() bool { return syscall.Kill(pid, 0) != nil }
			for end := time.Now().Add(15 * time.Second); !gone() && time.Now().Before(end); {
				time.Sleep(100 * time.Millisecond)
			}
			if !gone() {
				t.Logf("postfix master %d did not stop; killing it", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if t.Failed() {
		t.Logf("postfix log:\n%s", pf.maillog())
	}
	os.RemoveAll(pf.dir)
}

// held returns the header section of a held message, as postcat shows
// it with the filter's changes applied.
func (pf *postfixInstance) held(t *testing.T, queueID string) string {
	t.Helper()
	out, err := pf.command("postcat", "-c", pf.conf, "-h", "-q", queueID)
	require.NoError(t, err, out)
	return out
}

// heldIDs lists the queue IDs in the hold queue.
func (pf *postfixInstance) heldIDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(pf.dir, "spool", "hold"))
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, e := range ents {
		ids[e.Name()] = true
	}
	return ids
}

// newHeld returns the one queue ID held since before was taken.
func (pf *postfixInstance) newHeld(t *testing.T, before map[string]bool) string {
	t.Helper()
	var ids []string
	for id := range pf.heldIDs(t) {
		if !before[id] {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, 1, "one new message in the hold queue")
	return ids[0]
}

var queuedAs = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

// sendVia sends a message through the instance with swaks when it is
// installed (the SMTP client the issue names), else with net/smtp. It
// returns the final reply: code and text.
func sendVia(t *testing.T, addr, from, to string, msg []byte) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("swaks"); err == nil {
		f := filepath.Join(t.TempDir(), "msg.eml")
		require.NoError(t, os.WriteFile(f, msg, 0o600))
		host, port, _ := net.SplitHostPort(addr)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, "swaks", "--server", host, "--port", port, "--timeout", "50",
			"--helo", "client.example", "--from", from, "--to", to, "--data", f).CombinedOutput()
		require.NoError(t, ctx.Err(), "swaks timed out:\n%s", out)
		// The reply to the end of data is the last line swaks marks as a
		// reply before QUIT's.
		var last string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "<-  ") || strings.HasPrefix(l, "<** ") {
				if strings.Contains(l, " Bye") {
					break
				}
				last = l[4:]
			}
		}
		code, _ := strconv.Atoi(last[:min(3, len(last))])
		return code, strings.TrimSpace(last[min(4, len(last)):])
	}
	c, err := smtp.Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Hello("client.example"))
	require.NoError(t, c.Mail(from))
	require.NoError(t, c.Rcpt(to))
	w, err := c.Data()
	require.NoError(t, err)
	_, err = w.Write(msg)
	require.NoError(t, err)
	err = w.Close()
	if err == nil {
		_ = c.Quit()
		return 250, "(net/smtp does not show the queue id)"
	}
	var perr *textproto.Error
	require.ErrorAs(t, err, &perr)
	return perr.Code, perr.Msg
}

// TestPostfixEndToEnd runs the filter behind a real Postfix: GTUBE is
// rejected with the filter's reason, good mail is queued with the scoring
// fields on top, tagged mail gets X-Spam-Flag, and forged fields are
// gone.
func TestPostfixEndToEnd(t *testing.T) {
	milterAddr := startMilter(t, func(o *Options) { o.AuthservID = "mx.postfix.test" })
	pf := startPostfix(t, milterAddr)

	code, text := sendVia(t, pf.smtpAddr, "promo@deals.example.net", "alex@example.com", []byte(sample(t, "gtube.eml")))
	require.Equal(t, 550, code, text)
	require.True(t, strings.HasPrefix(text, "5.7.1 Message rejected as spam (score "), text)
	require.Contains(t, text, "): GTUBE: ")

	before := pf.heldIDs(t)
	require.Empty(t, before, "the rejected message was not queued")
	code, text = sendVia(t, pf.smtpAddr, "news@club.example.org", "alex@example.com", []byte(sample(t, "ham-newsletter.eml")))
	require.Equal(t, 250, code, text)
	id := pf.newHeld(t, before)
	if m := queuedAs.FindStringSubmatch(text); m != nil {
		require.Equal(t, m[1], id)
	}
	{
		h := pf.held(t, id)
		lines := strings.Split(h, "\n")
		require.True(t, strings.HasPrefix(lines[0], "X-Mailscore: score=0.00; action=accept;"), h)
		require.True(t, strings.HasPrefix(lines[1], "Authentication-Results: mx.postfix.test; spf=temperror"), h)
		require.Contains(t, lines[1], "smtp.mailfrom=news@club.example.org")
		require.Contains(t, lines[1], "smtp.helo=client.example")
		require.Contains(t, lines[1], "policy.iprev=127.0.0.1", "the client address Postfix passed")
		require.True(t, strings.HasPrefix(lines[2], "Received: from client.example"), "Postfix's own Received field comes next:\n%s", h)
		require.Contains(t, h, "\nReceived: from mail.club.example.org (mail.club.example.org [192.0.2.25])\n\tby mx.example.com", "folded fields pass unchanged")
	}

	phish := sample(t, "phishing.eml")
	forged := "X-Mailscore: score=-99.00; action=accept\r\nAuthentication-Results: mx.postfix.test; dmarc=pass\r\n" + phish
	before = pf.heldIDs(t)
	code, text = sendVia(t, pf.smtpAddr, "service@secure-login.example.com", "alex@example.com", []byte(forged))
	require.Equal(t, 250, code, text)
	{
		h := pf.held(t, pf.newHeld(t, before))
		require.True(t, strings.HasPrefix(h, "X-Spam-Flag: YES\nX-Mailscore: score="), h)
		require.Contains(t, strings.SplitN(h, "\n", 3)[1], "action=tag")
		require.Equal(t, 1, strings.Count(h, "X-Mailscore:"), "the forged field was deleted:\n%s", h)
		require.Equal(t, 1, strings.Count(h, "Authentication-Results: mx.postfix.test"), h)
		require.NotContains(t, h, "dmarc=pass")
	}

	// Postfix logged the filter's rejection.
	log := pf.maillog()
	require.Contains(t, log, "milter-reject: END-OF-MESSAGE")
	require.True(t, bytes.Contains([]byte(log), []byte("5.7.1 Message rejected as spam")), log)
	t.Logf("postfix %s: 1 rejected, 2 held with the filter's fields", postfixVersion(pf))
}

func postfixVersion(pf *postfixInstance) string {
	out, err := pf.command("postconf", "-c", pf.conf, "-h", "mail_version")
	if err != nil {
		return "?"
	}
	return fmt.Sprint(strings.TrimSpace(out))
}
