//go:build race

package memtest

// RaceFactor multiplies a memory bound under the race detector, whose
// shadow memory and bookkeeping grow every allocation.
const RaceFactor = 4
