package deploylog_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/agent/deploylog"
)

func TestSQLiteFile(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"deployments.db":               "deployments.db",
		"/var/lib/molt/deployments.db": "/var/lib/molt/deployments.db",
		`C:\molt\deployments.db`:       `C:\molt\deployments.db`,
		"sqlite:log.db":                "log.db",
		"sqlite:///var/log.db":         "/var/log.db",
		"postgres://u@h/db":            "",
		"postgresql://u@h/db":          "",
		"PostgreSQL://u@h/db":          "",
		"mysql://u@h/db":               "",
		"":                             "",
		"sqlite:":                      "",
	} {
		if got := deploylog.SQLiteFile(dsn); got != want {
			t.Errorf("SQLiteFile(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"deployments.db":                             "deployments.db",
		"postgres://molt:s3cret@db:5432/log":         "postgres://molt:xxxxx@db:5432/log",
		"postgres://molt@db/log?password=s3cret&x=1": "postgres://molt@db/log?password=xxxxx&x=1",
		"postgres://molt@db/log?sslmode=verify-full": "postgres://molt@db/log?sslmode=verify-full",
		"postgres://molt:s3cret@db:badport%zz/log":   "postgres://...",
		"postgresql://molt:s3cret@db/log?pool_max=2": "postgresql://molt:xxxxx@db/log?pool_max=2",
	} {
		got := deploylog.RedactURL(dsn)
		if got != want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactURL(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// TestOpenSQLite: Open gives a SQLite store for a path or a sqlite: URL,
// the same file either way, and refuses a URL it does not know.
func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "log.db")
	db, err := deploylog.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.(*deploylog.SQLite); !ok {
		t.Errorf("Open(%q) = %T, want *SQLite", path, db)
	}
	if err := db.Create(ctx, &deploylog.Deployment{Project: "p", Status: deploylog.StatusDone}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = deploylog.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if all, err := db.List(ctx, 0); err != nil || len(all) != 1 {
		t.Errorf("sqlite:%s lists %+v, %v; want the deployment made through the path", path, all, err)
	}
	db.Close()

	for _, dsn := range []string{"mysql://u:pw@127.0.0.1/log", "s3://bucket/log.db"} {
		if db, err := deploylog.Open(ctx, dsn); err == nil {
			db.Close()
			t.Errorf("Open(%q) opened a %T", dsn, db)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("Open(%q): %v: the error shows the password", dsn, err)
		}
	}
	if _, err := deploylog.Open(ctx, ""); err == nil || errors.Is(err, deploylog.ErrNotDatabase) {
		t.Errorf("Open(\"\") = %v, want an error saying no file was given", err)
	}
}
