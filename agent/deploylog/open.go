package deploylog

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DB is a Store kept in a database, which its user closes.
type DB interface {
	Store
	Close() error
}

var _ DB = (*SQLite)(nil)

// urlScheme matches the start of a URL, scheme://, which no file path
// that Open takes starts with (a Windows path has one letter before ':'
// and no "//").
var urlScheme = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*)://`)

// Open opens the deployment log that dsn names, the one place that
// decides which store a command-line -db gives:
//
//   - postgres://... or postgresql://...: a PostgreSQL database
//     (OpenPostgres);
//   - a file path, sqlite:PATH or sqlite:///PATH: a SQLite database file,
//     created if missing (OpenSQLite).
//
// Any other URL is an error: a mistyped scheme must not become a file.
func Open(ctx context.Context, dsn string) (DB, error) {
	if isPostgres(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	return OpenSQLite(ctx, path)
}

// SQLiteFile returns the file that Open would open as a SQLite database
// for dsn, or "" if dsn names a server's database or is not one Open
// takes. A command that must not create a log where there is none checks
// that the file exists first.
func SQLiteFile(dsn string) string {
	if isPostgres(dsn) {
		return ""
	}
	path, err := sqlitePath(dsn)
	if err != nil {
		return ""
	}
	return path
}

func isPostgres(dsn string) bool {
	m := urlScheme.FindStringSubmatch(dsn)
	return m != nil && (strings.EqualFold(m[1], "postgres") || strings.EqualFold(m[1], "postgresql"))
}

func sqlitePath(dsn string) (string, error) {
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		// sqlite:///abs/path is a URL with an empty host.
		dsn = strings.TrimPrefix(rest, "//")
	} else if m := urlScheme.FindStringSubmatch(dsn); m != nil {
		return "", fmt.Errorf("deploy: %s: unknown kind of database %q (want a SQLite file or postgres://...)", RedactURL(dsn), m[1])
	}
	if dsn == "" {
		return "", fmt.Errorf("deploy: no database file given")
	}
	return dsn, nil
}

// RedactURL returns dsn fit for a log line: a URL's password, in its user
// part or as a password parameter, is replaced by xxxxx. A file path is
// returned as it is.
func RedactURL(dsn string) string {
	if urlScheme.FindStringSubmatch(dsn) == nil {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Unparseable: say only what kind of URL it is.
		return urlScheme.FindString(dsn) + "..."
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
