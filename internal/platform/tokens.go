package platform

import "strings"

// token is one word of a name, lower-cased, with where it was written, so
// that a run of words (a version) can be given back as written.
type token struct {
	w          string
	start, end int // byte offsets in the name
}

// isSep reports whether c separates words in a release name. Dots
// separate too (sops-3.9.4.linux.amd64, prometheus-3.1.0.linux-amd64), so
// versions come in pieces and are put back together by position.
func isSep(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == ' ' || c == '+'
}

// tokenize splits s into lower-case words and joins back the words real
// names spell in pieces (see join).
func tokenize(s string) []token {
	var ts []token
	for i := 0; i < len(s); {
		if isSep(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isSep(s[j]) {
			j++
		}
		ts = append(ts, token{w: strings.ToLower(s[i:j]), start: i, end: j})
		i = j
	}
	out := ts[:0:0]
	for i := 0; i < len(ts); i++ {
		if i+1 < len(ts) && !versionFollows(s, ts[i+1].end) {
			if w, ok := join(ts[i].w, ts[i+1].w); ok {
				out = append(out, token{w: w, start: ts[i].start, end: ts[i+1].end})
				i++
				continue
			}
		}
		out = append(out, ts[i])
	}
	return out
}

// versionFollows reports whether s continues at i with a dot and a digit:
// then the word before it starts a version ("amd64-v1.29.2",
// "arm-5.0") and is not joined to the architecture.
func versionFollows(s string, i int) bool {
	return i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9'
}

// splitWords is tokenize without the positions.
func splitWords(s string) []string {
	ts := tokenize(s)
	ws := make([]string, len(ts))
	for i, t := range ts {
		ws[i] = t.w
	}
	return ws
}

// join puts back together two words that spell one: x86-64 and x86_64,
// 64-bit and 32-bit (lazygit), arm-7, arm_6 and arm-v7 (gitea, goreleaser's
// old default, rclone), amd64_v3 (goreleaser's GOAMD64 suffix), arm64-v8
// (Docker's platform variant).
func join(a, b string) (string, bool) {
	switch {
	case a == "x86" && b == "64":
		return "x86_64", true
	case (a == "64" || a == "32") && (b == "bit" || b == "bits"):
		return a + "bit", true
	case (a == "64bit" || a == "32bit") && b == "s":
		return a, true
	case a == "arm" && len(b) == 1 && b[0] >= '5' && b[0] <= '7':
		return "armv" + b, true
	case a == "arm" && len(b) == 2 && b[0] == 'v' && b[1] >= '5' && b[1] <= '7':
		return "arm" + b, true
	case (a == "arm64" || a == "aarch64") && b == "v8":
		return "arm64", true
	case (a == "amd64" || a == "x86_64") && len(b) == 2 && b[0] == 'v' && b[1] >= '1' && b[1] <= '4':
		return "amd64" + b, true
	}
	return "", false
}

// isVersionPiece reports whether w can be part of a version: 1, 12, v3,
// 20260102, 0rc1. Architecture words are looked at first, so 386 and
// 64bit never get here.
func isVersionPiece(w string) bool {
	if w == "" {
		return false
	}
	if w[0] == 'v' {
		w = w[1:]
	}
	return w != "" && w[0] >= '0' && w[0] <= '9'
}

// isPrerelease reports whether w, following a version piece, continues the
// version: rc, beta, rc1, beta2.
func isPrerelease(w string) bool {
	for _, p := range prereleaseWords {
		if rest, ok := strings.CutPrefix(w, p); ok && allDigits(rest) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
