package platform

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors returned by Choose, to be tested with errors.Is. Both come wrapped
// in a *ChoiceError that says what was wanted and what was on offer.
var (
	// ErrNoMatch means no asset of the release runs on the wanted platform.
	ErrNoMatch = errors.New("platform: no asset for this platform")
	// ErrAmbiguous means several different builds run on the wanted
	// platform and no rule says which one to take: Want.Flavour must.
	ErrAmbiguous = errors.New("platform: several builds for this platform")
)

// ChoiceError is the error of a failed Choose. It unwraps to ErrNoMatch or
// ErrAmbiguous, and its message lists what the release offers, so that
// whoever reads it can tell a missing build from a naming problem.
type ChoiceError struct {
	// Err is ErrNoMatch or ErrAmbiguous.
	Err error
	// App is the program the assets were matched against.
	App string
	// Want is the wanted platform, as Want.String writes it.
	Want string
	// Offered are the platforms the release has programs of app for,
	// each once, as Asset.Label writes them (os/arch and flavour words).
	Offered []string
	// Tied are, for ErrAmbiguous, the names of the builds that fit equally
	// well.
	Tied []string
	// Detail says why, in a few words.
	Detail string
}

func (e *ChoiceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s for %s", e.Err, quoteOr(e.App, "(any app)"), e.Want)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Tied) > 0 {
		b.WriteString("; candidates: " + quoteList(e.Tied))
	}
	if len(e.Offered) == 0 {
		b.WriteString("; the release has no program of this app")
	} else {
		b.WriteString("; on offer: " + shortList(e.Offered))
	}
	return b.String()
}

func (e *ChoiceError) Unwrap() error { return e.Err }

func quoteOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return strconv.Quote(s)
}

// maxListed is how many names an error message quotes before it counts
// the rest: enough to see the pattern of a release, short enough for a log
// line.
const maxListed = 12

// shortList joins labels for an error message, shortened when long.
func shortList(labels []string) string {
	if len(labels) <= maxListed*2 {
		return strings.Join(labels, ", ")
	}
	return strings.Join(labels[:maxListed*2], ", ") + fmt.Sprintf(" and %d more", len(labels)-maxListed*2)
}

// quoteList writes names for an error message, shortened when long.
func quoteList(names []string) string {
	q := make([]string, 0, min(len(names), maxListed+1))
	for i, n := range names {
		if i == maxListed {
			q = append(q, fmt.Sprintf("and %d more", len(names)-maxListed))
			break
		}
		q = append(q, strconv.Quote(n))
	}
	return strings.Join(q, ", ")
}
