package archive

import (
	"fmt"
	"path"
	"strings"
)

// matcher tells whether an entry is named like the executable.
type matcher struct {
	want map[string]bool // lower-case base names without ".exe"
	list []string        // the names as given, for messages
}

func newMatcher(names []string) matcher {
	m := matcher{want: make(map[string]bool)}
	for _, n := range names {
		k := stem(n)
		if k == "" || m.want[k] {
			continue
		}
		m.want[k] = true
		m.list = append(m.list, n)
	}
	return m
}

// match reports whether the entry's base name is one of the wanted names,
// with or without ".exe".
func (m matcher) match(entry string) bool {
	return m.want[stem(entry)]
}

// stem is the lower-case base name of an entry without a trailing ".exe".
// Backslashes count as separators, as Windows zip tools write them.
func stem(name string) string {
	name = strings.TrimRight(strings.ReplaceAll(name, `\`, "/"), "/")
	if name == "" {
		return ""
	}
	base := strings.ToLower(path.Base(name))
	base = strings.TrimSuffix(base, ".exe")
	if base == "." || base == ".." || base == "/" {
		return ""
	}
	return base
}

// checkPath refuses a name that is absolute or that leaves the archive's
// root: no archive made in good faith has one, so its presence anywhere
// condemns the whole archive, even though the entry itself would never be
// written.
func checkPath(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case strings.ContainsRune(n, 0):
		return fmt.Errorf("%w: entry %q has a NUL in its name", ErrUnsafe, name)
	case strings.HasPrefix(n, "/"), hasVolume(n):
		return fmt.Errorf("%w: entry %q has an absolute name", ErrUnsafe, name)
	}
	if c := path.Clean(n); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%w: entry %q leaves the archive's root", ErrUnsafe, name)
	}
	return nil
}

// hasVolume reports whether a name starts with a Windows drive letter, as in
// "C:/Windows" or "c:evil", which is absolute or drive-relative there.
func hasVolume(n string) bool {
	if len(n) < 2 || n[1] != ':' {
		return false
	}
	c := n[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// maxSeen is how many entry names an ErrNotFound message lists.
const maxSeen = 10

// seenNames remembers the first few entry names and counts the rest.
type seenNames struct {
	names []string
	count int
}

func (s *seenNames) add(name string) {
	s.count++
	if len(s.names) < maxSeen {
		s.names = append(s.names, name)
	}
}

// notFound builds the ErrNotFound error, listing what the archive holds so
// that a publisher can see which name to use.
func (x *extraction) notFound() error {
	want := strings.Join(x.names.list, ", ")
	if want == "" {
		want = "(no names given)"
	}
	var seen string
	switch {
	case x.seen.count == 0:
		seen = "the archive is empty"
	default:
		seen = fmt.Sprintf("the archive holds %d entries: %s", x.seen.count, strings.Join(x.seen.names, ", "))
		if more := x.seen.count - len(x.seen.names); more > 0 {
			seen += fmt.Sprintf(" and %d more", more)
		}
	}
	return fmt.Errorf("%w: %s: no regular file named %s (with or without .exe); %s", ErrNotFound, x.asset, want, seen)
}

// twice builds the ErrAmbiguous error.
func (x *extraction) twice(first, second string) error {
	return fmt.Errorf("%w: %s: both %q and %q match", ErrAmbiguous, x.asset, first, second)
}

// notRegular builds the ErrUnsafe error for an entry that is named like the
// executable but is not a regular file.
func (x *extraction) notRegular(name, kind string) error {
	return fmt.Errorf("%w: %s: entry %q is named like the executable but is a %s", ErrUnsafe, x.asset, name, kind)
}
