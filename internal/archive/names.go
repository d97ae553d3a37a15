package archive

import (
	"fmt"
	"path"
	"strings"
)

// matcher tells whether an entry is named like the executable.
type matcher struct {
	want  map[string]bool // lower-case base names without ".exe"
	list  []string        // the names as given, for messages
	exact string          // Options.Executable, cleaned
}

func newMatcher(names []string, exact string) matcher {
	m := matcher{want: make(map[string]bool), exact: entryPath(exact)}
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

// match reports whether the entry is the executable: with an exact name,
// that name; otherwise one of the wanted base names, with or without
// ".exe", at a depth where release archives put their executable.
func (m matcher) match(entry string) bool {
	p := entryPath(entry)
	switch {
	case m.exact == "":
	case strings.Contains(m.exact, "/"):
		return p == m.exact
	default:
		return path.Base(p) == m.exact
	}
	return m.want[stem(entry)] && shallow(p)
}

// shallow reports whether an entry path is where release archives put the
// executable: at the top, in the one folder they wrap everything in
// ("hello_1.0_linux_amd64/hello"), or in a bin folder at either level
// ("buf/bin/buf", gh's "gh_2.0.0_linux_amd64/bin/gh"). Deeper files of the
// same name (docs/examples/hello, vendor trees) are someone else's.
func shallow(p string) bool {
	parts := strings.Split(p, "/")
	switch len(parts) {
	case 1, 2:
		return true
	case 3:
		return strings.EqualFold(parts[1], "bin")
	}
	return false
}

// entryPath is an entry's name as a clean slash-separated path without a
// leading "./": Windows zip tools write backslashes, tar tools "./".
func entryPath(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" {
		return ""
	}
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

// describe says what is looked for, for messages.
func (m matcher) describe() string {
	if m.exact != "" {
		return fmt.Sprintf("no regular file named exactly %q", m.exact)
	}
	want := strings.Join(m.list, ", ")
	if want == "" {
		want = "(no names given)"
	}
	return "no regular file named " + want + " (with or without .exe) at the top level, one folder deep or in a bin folder"
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

// maxSeen is how many entry names an ErrNotFound message lists: enough to
// show a publisher the archive's layout, few enough for one log line.
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
	return fmt.Errorf("%w: %s: %s; %s", ErrNotFound, x.asset, x.names.describe(), seen)
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
