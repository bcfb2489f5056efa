package reputation_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/reputation"
)

// A fixed clock keeps the examples' output stable.
func clock() func() time.Time {
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return t }
}

func Example() {
	ctx := context.Background()
	rep, err := reputation.New(reputation.Options{Now: clock()})
	if err != nil {
		panic(err)
	}
	ip := netip.MustParseAddr("192.0.2.7")
	// Three people said "not spam": not yet enough to judge.
	for range 3 {
		_ = rep.LearnIP(ctx, ip, nil, mailscore.Ham, mailscore.SourceUser)
	}
	sigs, _ := rep.CheckIP(ctx, ip)
	fmt.Printf("%s %.2f %.2f\n%s\n", sigs[0].Symbol, sigs[0].Value, sigs[0].Confidence, sigs[0].Reason)
	// Forty spam reports for tenant.example sending from it: known bad.
	for range 40 {
		_ = rep.LearnIP(ctx, ip, []string{"tenant.example"}, mailscore.Spam, mailscore.SourceUser)
	}
	sigs, _ = rep.CheckIP(ctx, ip, "tenant.example")
	for _, s := range sigs {
		fmt.Printf("%s %.2f %.2f\n%s\n", s.Symbol, s.Value, s.Confidence, s.Reason)
	}
	// Output:
	// IP_REPUTATION 0.00 0.00
	// 192.0.2.7/32: 3 messages in 30 days (0 spam, 3 ham) - too little evidence to judge (neutral)
	// IP_REPUTATION 0.82 0.67
	// 192.0.2.7/32: reputation -8.2 (bad) from 43 messages in 30 days (40 spam, 3 ham), first seen 0 seconds ago
	// DOMAIN_REPUTATION 0.95 0.82
	// tenant.example: reputation -9.5 (bad) from 40 messages in 30 days (40 spam, 0 ham), first seen 0 seconds ago
	// TENANT_REPUTATION 0.95 0.82
	// tenant.example@192.0.2.0/24: reputation -9.5 (bad) from 40 messages in 30 days (40 spam, 0 ham), first seen 0 seconds ago
}

// The check in an engine, after "auth", whose signals name the domains
// that authenticated. Here there is no auth check: reputation runs on the
// client address alone.
func ExampleChecker_Check() {
	ctx := context.Background()
	rep, _ := reputation.New(reputation.Options{Now: clock()})
	engine, _ := mailscore.NewEngine(mailscore.EngineOptions{}, rep)
	msg, _ := mailscore.NewMessage(mailscore.Envelope{ClientIP: netip.MustParseAddr("198.51.100.4")},
		[]byte("Subject: hello\r\n\r\nhi\r\n"), mailscore.Limits{})
	for range 10 {
		_ = engine.Learn(ctx, msg, mailscore.Spam)
	}
	v := engine.Score(ctx, msg)
	f, _ := v.Dominant()
	fmt.Printf("%.1f %s: %s\n", v.Score, f.Symbol, f.Reason)
	// Output:
	// 1.3 IP_REPUTATION: 198.51.100.4/32: reputation -8.3 (bad) from 10 messages in 30 days (10 spam, 0 ham), first seen 0 seconds ago
}

// Learned state survives a restart through an atomic snapshot file.
func ExampleMemStore_SaveFile() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "reputation")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "reputation.snap")

	store := reputation.NewMemStore(reputation.MemStoreOptions{})
	rep, _ := reputation.New(reputation.Options{Store: store, Now: clock()})
	_ = rep.LearnIP(ctx, netip.MustParseAddr("203.0.113.9"), []string{"shop.example"}, mailscore.Ham, mailscore.SourceUser)
	if err := store.SaveFile(path); err != nil {
		panic(err)
	}

	restored := reputation.NewMemStore(reputation.MemStoreOptions{})
	if err := restored.LoadFile(path); err != nil {
		panic(err)
	}
	rep2, _ := reputation.New(reputation.Options{Store: restored, Now: clock()})
	est, _ := rep2.Estimate(ctx, reputation.DomainKey("shop.example"))
	fmt.Println(restored.Len(), est.Ham, est.State)
	// Output:
	// 4 1 unknown
}

// DNS lists are off unless enabled; PresetLists names dnsutil's presets
// for a command-line flag.
func ExamplePresetLists() {
	lists, err := reputation.PresetLists("zen", "dnswl")
	if err != nil {
		panic(err)
	}
	for _, l := range lists {
		fmt.Println(l.List.Name, l.List.Zone)
	}
	// Output:
	// Spamhaus ZEN zen.spamhaus.org
	// DNSWL list.dnswl.org
}
