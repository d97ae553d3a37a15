package deploylog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// SQLite result codes that mean the file is not a usable database.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// schema is created when missing; statements are idempotent. Times are
// kept as Unix nanoseconds, so they sort and round-trip exactly; labels as
// a JSON array of strings, or ” for none.
const schema = `
CREATE TABLE IF NOT EXISTS deployments (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	labels  TEXT NOT NULL DEFAULT '',
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	commit_hash TEXT NOT NULL,
	subject TEXT NOT NULL,
	status  TEXT NOT NULL,
	error   TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id INTEGER NOT NULL REFERENCES deployments(id),
	step    TEXT NOT NULL,
	project TEXT NOT NULL,
	machine TEXT NOT NULL,
	from_v  TEXT NOT NULL,
	to_v    TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_ns   INTEGER NOT NULL,
	error   TEXT NOT NULL,
	output  TEXT NOT NULL,
	bytes   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS steps_deployment ON steps(deployment_id, id);
`

// SQLite is the default Store: a SQLite database file, through the pure Go
// modernc.org/sqlite driver (no cgo). Open it with OpenSQLite.
type SQLite struct {
	db *sql.DB
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens the database at path, creating it (and its tables) if
// the file does not exist. A file that exists and is not a SQLite database
// gives an error wrapping ErrNotDatabase, and is left byte for byte as it
// was: its header is read before SQLite may write anything.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("deploy: database path %q must not contain '?' or '#'", path)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	// WAL lets the web page read while the agent writes; the busy timeout
	// lets two writers take turns instead of failing.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("deploy: open %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, sqliteError(path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, sqliteError(path, err)
	}
	return &SQLite{db: db}, nil
}

// added are the columns that came after the first schema, which migrate
// adds to a database made before them.
var added = []struct{ table, column, decl string }{
	{"steps", "bytes", "INTEGER NOT NULL DEFAULT 0"},      // with reported update events
	{"deployments", "labels", "TEXT NOT NULL DEFAULT ''"}, // with the fleet view
}

// migrate brings a database made by an earlier version up to the schema.
func migrate(ctx context.Context, db *sql.DB) error {
	for _, c := range added {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
				return err
			}
		}
	}
	return nil
}

// sqliteLabels is how labels are kept in SQLite.
func sqliteLabels(ls []string) (string, error) {
	if len(ls) == 0 {
		return "", nil
	}
	b, err := json.Marshal(ls)
	if err != nil {
		return "", fmt.Errorf("deploy: labels: %w", err)
	}
	return string(b), nil
}

func fromSQLiteLabels(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var ls []string
	if err := json.Unmarshal([]byte(s), &ls); err != nil {
		return nil, fmt.Errorf("deploy: labels %q: %w", s, err)
	}
	if len(ls) == 0 {
		return nil, nil
	}
	return ls, nil
}

// checkHeader fails with ErrNotDatabase if path exists, is not empty (SQLite
// makes an empty file a database) and does not start as a database does.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("deploy: %w", err)
	}
	if !bytes.Equal(head[:n], []byte(sqliteHeader)) {
		return fmt.Errorf("%w: %s", ErrNotDatabase, path)
	}
	return nil
}

// sqliteError wraps ErrNotDatabase around SQLite's own "not a database"
// and "malformed" errors.
func sqliteError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; c == sqliteNotADB || c == sqliteCorrupt {
			return fmt.Errorf("%w: %s: %w", ErrNotDatabase, path, err)
		}
	}
	return fmt.Errorf("deploy: %s: %w", path, err)
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Create records d and sets its ID.
func (s *SQLite) Create(ctx context.Context, d *Deployment) error {
	labels, err := sqliteLabels(d.Labels)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO deployments
		(project, machine, labels, from_v, to_v, commit_hash, subject, status, error, start_ns, end_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Project, d.Machine, labels, d.From, d.To, d.Commit, d.Subject, string(d.Status), d.Error, unixNano(d.Start), unixNano(d.End))
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	d.ID, err = res.LastInsertId()
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	return nil
}

// Update saves d's fields other than Steps.
func (s *SQLite) Update(ctx context.Context, d *Deployment) error {
	labels, err := sqliteLabels(d.Labels)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE deployments SET
		project = ?, machine = ?, labels = ?, from_v = ?, to_v = ?, commit_hash = ?, subject = ?, status = ?, error = ?, start_ns = ?, end_ns = ?
		WHERE id = ?`,
		d.Project, d.Machine, labels, d.From, d.To, d.Commit, d.Subject, string(d.Status), d.Error, unixNano(d.Start), unixNano(d.End), d.ID)
	return affected(res, err, d.ID)
}

// AddStep records st and sets its ID.
func (s *SQLite) AddStep(ctx context.Context, st *StepLog) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO steps
		(deployment_id, step, project, machine, from_v, to_v, start_ns, end_ns, error, output, bytes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.DeploymentID, string(st.Step), st.Project, st.Machine, st.From, st.To, unixNano(st.Start), unixNano(st.End), st.Error, st.Output, st.Bytes)
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == 19 { // SQLITE_CONSTRAINT: no such deployment
			return fmt.Errorf("%w: %d: %w", ErrNotFound, st.DeploymentID, err)
		}
		return fmt.Errorf("deploy: %w", err)
	}
	st.ID, err = res.LastInsertId()
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	return nil
}

// UpdateStep saves st.
func (s *SQLite) UpdateStep(ctx context.Context, st *StepLog) error {
	res, err := s.db.ExecContext(ctx, `UPDATE steps SET
		step = ?, project = ?, machine = ?, from_v = ?, to_v = ?, start_ns = ?, end_ns = ?, error = ?, output = ?, bytes = ?
		WHERE id = ?`,
		string(st.Step), st.Project, st.Machine, st.From, st.To, unixNano(st.Start), unixNano(st.End), st.Error, st.Output, st.Bytes, st.ID)
	return affected(res, err, st.ID)
}

func affected(res sql.Result, err error, id int64) error {
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return nil
}

const deploymentColumns = `id, project, machine, labels, from_v, to_v, commit_hash, subject, status, error, start_ns, end_ns`

// List returns the newest deployments first, with their steps.
func (s *SQLite) List(ctx context.Context, limit int) ([]Deployment, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deploymentColumns+` FROM deployments ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	var out []Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	for i := range out {
		if out[i].Steps, err = s.steps(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get returns deployment id with its steps.
func (s *SQLite) Get(ctx context.Context, id int64) (*Deployment, error) {
	d, err := scanDeployment(s.db.QueryRowContext(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if d.Steps, err = s.steps(ctx, id); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *SQLite) steps(ctx context.Context, id int64) ([]StepLog, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, deployment_id, step, project, machine, from_v, to_v, start_ns, end_ns, error, output, bytes
		FROM steps WHERE deployment_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	defer rows.Close()
	var out []StepLog
	for rows.Next() {
		var st StepLog
		var step string
		var start, end int64
		if err := rows.Scan(&st.ID, &st.DeploymentID, &step, &st.Project, &st.Machine, &st.From, &st.To, &start, &end, &st.Error, &st.Output, &st.Bytes); err != nil {
			return nil, fmt.Errorf("deploy: %w", err)
		}
		st.Step, st.Start, st.End = Step(step), fromUnixNano(start), fromUnixNano(end)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanDeployment(row scanner) (*Deployment, error) {
	var d Deployment
	var status, labels string
	var start, end int64
	err := row.Scan(&d.ID, &d.Project, &d.Machine, &labels, &d.From, &d.To, &d.Commit, &d.Subject, &status, &d.Error, &start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if d.Labels, err = fromSQLiteLabels(labels); err != nil {
		return nil, err
	}
	d.Status, d.Start, d.End = Status(status), fromUnixNano(start), fromUnixNano(end)
	return &d, nil
}
