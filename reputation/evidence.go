package reputation

import (
	"math"
	"net/netip"
	"time"
)

// Evidence is what a Store keeps for one key: decayed counts of ham and
// spam reports by source, messages seen, and when the key was first and
// last seen. The counts are float32 (ample for decayed counts, and it keeps
// an entry at 40 bytes). The zero Evidence is a key never seen.
//
// Counts refer to the time Last: to read them at another time, decay them
// with At. Every count but Recent halves every Decay.HalfLife; Recent
// halves every Decay.VolumeHalfLife.
type Evidence struct {
	HamUser     float32 // "not spam" reports by people (mailscore.SourceUser)
	HamVerdict  float32 // the engine's own confident ham verdicts (mailscore.SourceVerdict)
	SpamUser    float32 // "spam" reports by people
	SpamTrap    float32 // spam-trap hits (mailscore.SourceTrap)
	SpamVerdict float32 // the engine's own confident spam verdicts
	Seen        float32 // messages checked (the sender's volume)
	Recent      float32 // messages checked, decayed fast (for VOLUME_SPIKE)
	// Tenants is, on a network key (IPv4 /24, IPv6 /48), the decayed number
	// of distinct authenticated domains seen sending from it; on a pair key,
	// the part of that number this pair has contributed (see Checker).
	Tenants float32
	First   uint32 // Unix seconds when first seen; 0 means never
	Last    uint32 // Unix seconds the counts refer to
}

// Decay sets how fast evidence fades. The zero value means the defaults.
type Decay struct {
	// HalfLife is the time after which a report or a sighting counts half;
	// default 30 days.
	HalfLife time.Duration
	// VolumeHalfLife is the half-life of the short-term volume (Recent);
	// default one hour.
	VolumeHalfLife time.Duration
}

// Default half-lives.
const (
	DefaultHalfLife       = 30 * 24 * time.Hour
	DefaultVolumeHalfLife = time.Hour
)

func (d Decay) resolved() Decay {
	if d.HalfLife <= 0 {
		d.HalfLife = DefaultHalfLife
	}
	if d.VolumeHalfLife <= 0 {
		d.VolumeHalfLife = DefaultVolumeHalfLife
	}
	return d
}

// unixSeconds returns t as Unix seconds clamped to [1, MaxUint32], so that
// 0 can mean "never".
func unixSeconds(t time.Time) uint32 {
	s := t.Unix()
	switch {
	case s < 1:
		return 1
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s)
}

// At returns the evidence decayed to now: each count is multiplied by
// 2^(-(now-Last)/half-life). Evidence from the future (a clock that went
// back) is returned unchanged.
func (e Evidence) At(now time.Time, d Decay) Evidence {
	return e.at(unixSeconds(now), d.resolved())
}

func (e Evidence) at(now uint32, d Decay) Evidence {
	e.decayTo(now, &d)
	return e
}

// decayTo decays e to now in place (see At).
func (e *Evidence) decayTo(now uint32, d *Decay) {
	z := newDecayer(now, d)
	z.decay(e)
}

// decayer decays evidence to one time, for a batch of keys. A message's
// keys were mostly last touched together, by the previous message, so it
// keeps the factors of the last time step rather than computing
// 2^(-dt/H) again for each key.
type decayer struct {
	now   uint32
	h, vh float64 // HalfLife and VolumeHalfLife in seconds
	dt    uint32  // the step f and g are for (0: none yet)
	f, g  float32
}

func newDecayer(now uint32, d *Decay) decayer {
	return decayer{now: now, h: d.HalfLife.Seconds(), vh: d.VolumeHalfLife.Seconds()}
}

// decay decays e to z.now in place: each count is multiplied by
// 2^(-(now-Last)/half-life). Evidence from the future (a clock that went
// back) is left unchanged.
func (z *decayer) decay(e *Evidence) {
	if e.Last == 0 || z.now <= e.Last {
		return
	}
	if dt := z.now - e.Last; dt != z.dt {
		x := float64(dt)
		z.f = float32(math.Exp2(-x / z.h))
		z.g = float32(math.Exp2(-x / z.vh))
		z.dt = dt
	}
	f := z.f
	e.HamUser *= f
	e.HamVerdict *= f
	e.SpamUser *= f
	e.SpamTrap *= f
	e.SpamVerdict *= f
	e.Seen *= f
	e.Tenants *= f
	e.Recent *= z.g
	e.Last = z.now
}

// Apply returns e decayed to now with delta's counts added (delta's First
// and Last are ignored). First is set on the first update. Stores use it to
// implement Update.
func (e Evidence) Apply(now time.Time, d Decay, delta Evidence) Evidence {
	return e.apply(unixSeconds(now), d.resolved(), delta)
}

func (e Evidence) apply(now uint32, d Decay, delta Evidence) Evidence {
	e.decayTo(now, &d)
	e.add(now, &delta)
	return e
}

// add adds delta's counts to e, already decayed to now, in place (see
// Apply).
func (e *Evidence) add(now uint32, delta *Evidence) {
	e.HamUser += delta.HamUser
	e.HamVerdict += delta.HamVerdict
	e.SpamUser += delta.SpamUser
	e.SpamTrap += delta.SpamTrap
	e.SpamVerdict += delta.SpamVerdict
	e.Seen += delta.Seen
	e.Recent += delta.Recent
	e.Tenants += delta.Tenants
	if e.First == 0 {
		e.First = now
	}
	if now > e.Last {
		e.Last = now
	}
}

// FirstSeen returns First as a time (zero when never seen).
func (e Evidence) FirstSeen() time.Time {
	if e.First == 0 {
		return time.Time{}
	}
	return time.Unix(int64(e.First), 0)
}

// LastSeen returns Last as a time (zero when never seen).
func (e Evidence) LastSeen() time.Time {
	if e.Last == 0 {
		return time.Time{}
	}
	return time.Unix(int64(e.Last), 0)
}

// valid reports whether every count is a finite, non-negative number and
// the times are in order (a snapshot holding anything else is corrupt).
func (e Evidence) valid() bool {
	for _, v := range [...]float32{e.HamUser, e.HamVerdict, e.SpamUser, e.SpamTrap, e.SpamVerdict, e.Seen, e.Recent, e.Tenants} {
		if !(v >= 0 && v <= math.MaxFloat32) { // false for NaN too
			return false
		}
	}
	return e.First != 0 && e.First <= e.Last
}

// Back-off levels (see the package documentation).
const (
	v4Network = 24 // pairs and tenant counts for IPv4
	v6Network = 48 // pairs and tenant counts for IPv6
	v6Sender  = 64 // the IPv6 "sender" for volume: one subnet, any address in it
)

// ipLevels returns the prefix lengths reputation looks at for a, most
// specific first, and the weight each gives when it answers for a.
func ipLevels(a netip.Addr) (bits [4]int, weight [4]float64, n int) {
	if a.Is4() {
		return [4]int{32, 24}, [4]float64{1, 0.5}, 2
	}
	return [4]int{128, 64, 48, 32}, [4]float64{1, 1, 0.5, 0.125}, 4
}

// networkBits is the level pairs and tenant counts are kept at.
func networkBits(a netip.Addr) int {
	if a.Is4() {
		return v4Network
	}
	return v6Network
}

// senderBits is the level whose volume VOLUME_SPIKE watches.
func senderBits(a netip.Addr) int {
	if a.Is4() {
		return 32
	}
	return v6Sender
}
