package deploylog

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSQLiteAddsBytesToAnOlderDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := strings.Replace(schema, ",\n\tbytes   INTEGER NOT NULL DEFAULT 0", "", 1)
	if old == schema {
		t.Fatal("the test no longer knows how the schema declares bytes")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, old+`
		INSERT INTO deployments VALUES (1, 'p', 'm', '', 'v1', 'c', '', 'done', '', 1, 2);
		INSERT INTO steps VALUES (1, 1, 'build', 'p', 'm', '', 'v1', 1, 2, '', 'ok');`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddStep(ctx, &StepLog{DeploymentID: 1, Step: "download", Start: time.Now(), Bytes: 1234}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Get(ctx, 1)
	if err != nil || len(d.Steps) != 2 || d.Steps[0].Output != "ok" || d.Steps[0].Bytes != 0 || d.Steps[1].Bytes != 1234 {
		t.Fatalf("after the upgrade: %+v, %v", d, err)
	}
}
