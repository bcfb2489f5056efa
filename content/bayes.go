package content

import (
	"math"
)

// Classifier parameters: those SpamBayes settled on after large-scale
// testing (Robinson's s and x, the chi-square combining of Fisher's method,
// at most 150 clues of strength 0.1 or more).
const (
	unknownWordStrength = 0.45 // s: how much weight the prior x has
	unknownWordProb     = 0.5  // x: the probability of a token never seen
	minProbStrength     = 0.1  // clues with |f(w) - 0.5| below this are ignored
	maxDiscriminators   = 150  // at most this many clues are combined
)

type clue struct {
	tok      token
	f        float64 // Robinson's f(w)
	strength float64 // |f - 0.5|
}

type bayesResult struct {
	prob       float64 // chi-square combined spam probability, 0.5 when undecided
	clues      []clue  // the clues used, strongest first
	ham, spam  float64 // messages learned (units / UnitsPerReport)
	considered int     // tokens looked up
}

// robinsonF returns Robinson's f(w) for a token seen ham and spam times
// (in units) when nham and nspam messages (units) were learned:
//
//	p(w) = (spam/nspam) / (ham/nham + spam/nspam)
//	f(w) = (s*x + n*p(w)) / (s + n),  n = messages the token was seen in
//
// so a token seen once weighs little and an unseen one is exactly x.
func robinsonF(ham, spam uint32, nham, nspam uint32) float64 {
	if ham == 0 && spam == 0 {
		return unknownWordProb
	}
	hr := math.Min(1, float64(ham)/float64(max(nham, 1)))
	sr := math.Min(1, float64(spam)/float64(max(nspam, 1)))
	p := sr / (hr + sr)
	n := float64(uint64(ham)+uint64(spam)) / UnitsPerReport
	return (unknownWordStrength*unknownWordProb + n*p) / (unknownWordStrength + n)
}

// chi2Q is the probability that a chi-square variable with v (even)
// degrees of freedom exceeds x2.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	sum := math.Exp(-m)
	term := sum
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return math.Min(sum, 1)
}

// combine is Robinson's use of Fisher's method (as in SpamBayes): the
// product of the f(w) and the product of 1-f(w) are each tested as
// chi-square with 2n degrees of freedom; S measures spamminess, H
// hamminess, and the result (1 + S - H) / 2 is near 1 for spam, near 0 for
// ham and near 0.5 when the evidence is absent or conflicting.
func combine(clues []clue) float64 {
	if len(clues) == 0 {
		return 0.5
	}
	// Sum logs through frexp to avoid underflow in the products.
	var hMant, sMant float64 = 1, 1
	var hExp, sExp int
	for _, c := range clues {
		sMant *= 1 - c.f
		hMant *= c.f
		if sMant < 1e-200 {
			m, e := math.Frexp(sMant)
			sMant, sExp = m, sExp+e
		}
		if hMant < 1e-200 {
			m, e := math.Frexp(hMant)
			hMant, hExp = m, hExp+e
		}
	}
	lnS := math.Log(sMant) + float64(sExp)*math.Ln2
	lnH := math.Log(hMant) + float64(hExp)*math.Ln2
	n := len(clues)
	s := 1 - chi2Q(-2*lnS, 2*n)
	h := 1 - chi2Q(-2*lnH, 2*n)
	return (1 + s - h) / 2
}

// selectClues computes f(w) for every token and keeps the strongest
// maxDiscriminators with strength of at least minProbStrength, strongest
// first (ties broken by hash, so results are reproducible). A bounded
// min-heap keeps the selection O(n log 150) whatever the input.
func selectClues(toks []token, counts []Counts, total Counts, dst []clue) []clue {
	dst = dst[:0]
	for i, t := range toks {
		c := counts[i]
		if c.Ham == 0 && c.Spam == 0 {
			continue
		}
		f := robinsonF(c.Ham, c.Spam, total.Ham, total.Spam)
		s := math.Abs(f - 0.5)
		if s < minProbStrength {
			continue
		}
		cl := clue{tok: t, f: f, strength: s}
		if len(dst) < maxDiscriminators {
			dst = append(dst, cl)
			heapUp(dst, len(dst)-1)
			continue
		}
		if stronger(cl, dst[0]) { // replace the weakest kept
			dst[0] = cl
			heapDown(dst, 0)
		}
	}
	// Heapsort: moving the weakest to the end, one by one, leaves the
	// clues strongest first. stronger is a strict total order (the hashes
	// of distinct tokens differ), so this is the one sorted order.
	for end := len(dst) - 1; end > 0; end-- {
		dst[0], dst[end] = dst[end], dst[0]
		heapDown(dst[:end], 0)
	}
	return dst
}

// stronger orders clues: by strength, then by hash.
func stronger(a, b clue) bool {
	if a.strength != b.strength {
		return a.strength > b.strength
	}
	return a.tok.h < b.tok.h
}

// heapUp and heapDown keep h a min-heap under stronger: h[0] is the weakest.
func heapUp(h []clue, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !stronger(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func heapDown(h []clue, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && stronger(h[l], h[r]) {
			m = r
		}
		if !stronger(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
