//go:build race

package delta

// raceEnabled skips the tests whose bound (time, memory) the race detector
// makes meaningless.
const raceEnabled = true
