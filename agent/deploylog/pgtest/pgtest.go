// Package pgtest starts a real PostgreSQL server for a test: Debian's
// package (initdb, pg_ctl, postgres) run into a temporary folder, listening
// on 127.0.0.1 at a free port, with its unix socket inside that folder, and
// stopped (pg_ctl stop -m immediate) when the test ends.
//
// A test calls Start, then NewDatabase for an empty database of its own:
//
//	srv := pgtest.Start(t)
//	store, err := deploylog.Open(ctx, srv.NewDatabase(t))
//
// Where PostgreSQL is not installed the test is skipped with how to get it
// (apt-get install postgresql), or fails when MOLT_REQUIRE_TOOLS=1, as
// internal/testtool does for every outside program. initdb and postgres
// refuse to run as root, so as root (CI) the server runs as the user
// nobody, which owns the folder it writes.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/molt-go/update/internal/testtool"
)

// How is the command that installs PostgreSQL, said by a skipped test.
const How = "apt-get install postgresql"

// User is the server's superuser, who connects without a password.
const User = "postgres"

// wait bounds each step of starting and stopping a server, and each
// statement NewDatabase runs: generous, for a loaded machine under -race.
const wait = 2 * time.Minute

// Server is a PostgreSQL server of one test. It stops when the test ends.
type Server struct {
	// Port is the TCP port it listens on, at 127.0.0.1.
	Port int
	// Dir is the temporary folder of its data, its socket and its logs
	// (pg/server-N.log, one per start), removed when the test ends.
	Dir string

	bin   string // the folder of initdb, pg_ctl and postgres, all of one major version
	cred  *credential
	dbs   atomic.Int64
	nLogs atomic.Int64
}

// Start starts a server for t, or skips t when PostgreSQL is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("pgtest runs PostgreSQL on Unix systems only")
	}
	initdb := testtool.FindIn(t, How, searchDirs(), "initdb")
	// pg_ctl and postgres must be the ones beside initdb, of its major
	// version, wherever PATH pointed: /usr/local/bin may hold links.
	real, err := filepath.EvalSymlinks(initdb)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: filepath.Dir(real)}
	for _, n := range []string{"pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(s.bin, n)); err != nil {
			testtool.Missing(t, n+" is not installed beside "+real, How)
		}
	}
	if s.cred, err = runAs(); err != nil {
		t.Fatal(err)
	}

	// Not t.TempDir: its parents are private to this user, and the server
	// may run as another. The server user owns pg/, where it writes.
	base := os.TempDir()
	reapOrphans(base, s.bin)
	if s.Dir, err = os.MkdirTemp(base, dirPrefix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.Dir) })
	if err := os.Chmod(s.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.home(), s.sock()} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := s.cred.chown(d); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", User, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	// Before the start, so that a start that fails half way still stops.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err != nil {
			return // not running: never started, stopped, or reaped
		}
		if out, err := s.run("pg_ctl", "stop", "-D", s.data(), "-m", "immediate", "-w", "-t", waitSeconds(), "-s"); err != nil {
			t.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
		}
	})
	// A port that was free a moment ago may be taken before the server
	// binds it: try again with another.
	for try := 1; ; try++ {
		if err = s.start(); err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("pgtest: %v", err)
		}
	}
	return s
}

// StartIfInstalled is Start for a test that has more to do than use
// PostgreSQL, such as one run against every kind of store: where
// PostgreSQL is not installed, or under go test -short, it logs so and
// returns nil instead of skipping t (MOLT_REQUIRE_TOOLS=1 still fails it).
func StartIfInstalled(t testing.TB) *Server {
	t.Helper()
	switch {
	case testing.Short():
		t.Log("pgtest: no PostgreSQL under -short")
		return nil
	case runtime.GOOS == "windows" || testtool.LookupIn(searchDirs(), "initdb") == "":
		if os.Getenv(testtool.RequireEnv) != "1" {
			t.Logf("pgtest: PostgreSQL is not installed (get it with: %s): going on without it", How)
			return nil
		}
	}
	return Start(t)
}

// start starts the server at a free port, as s.Port says.
func (s *Server) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return s.pgCtlStart()
}

// pgCtlStart starts the server at s.Port and waits until it takes
// connections.
func (s *Server) pgCtlStart() error {
	// A log file per start, so a failure shows its own lines.
	log := filepath.Join(s.home(), fmt.Sprintf("server-%d.log", s.nLogs.Add(1)))
	// fsync and friends off: a test's data need not survive a crash of the
	// machine, and a loaded machine syncs slowly. Small shared buffers, as
	// several tests may run a server each.
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(s.Port),
		"-k " + s.sock(),
		"-c fsync=off",
		"-c synchronous_commit=off",
		"-c full_page_writes=off",
		"-c shared_buffers=16MB",
		"-c max_connections=40",
	}, " ")
	out, err := s.run("pg_ctl", "start", "-D", s.data(), "-l", log, "-w", "-t", waitSeconds(), "-s", "-o", opts)
	if err != nil {
		logged, _ := os.ReadFile(log)
		return fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, logged)
	}
	return nil
}

// Stop stops the server (fast shutdown: sessions are ended), for a test of
// what a client does while the server is gone. The server stops when the
// test ends whether or not it was stopped here.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.run("pg_ctl", "stop", "-D", s.data(), "-m", "fast", "-w", "-t", waitSeconds(), "-s"); err != nil {
		t.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// Restart starts a stopped server again, at the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.pgCtlStart(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// URL is the URL of database db on the server, as User, over TCP.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, s.Port, db)
}

// NewDatabase creates an empty database on the server and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("test%d", s.dbs.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.URL(name)
}

func (s *Server) home() string { return filepath.Join(s.Dir, "pg") }
func (s *Server) data() string { return filepath.Join(s.home(), "data") }
func (s *Server) sock() string { return filepath.Join(s.home(), "sock") }

// run runs one of the server's programs as the server's user and returns
// what it printed.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.home()
	cmd.Env = env()
	s.cred.apply(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server running with our output pipes open:
	// do not wait for them to close.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return out.Bytes(), err
}

// env is this process's environment without the PG* variables, which
// would point the programs elsewhere, and in the C locale.
func env() []string {
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			e = append(e, kv)
		}
	}
	return append(e, "LC_ALL=C")
}

// searchDirs are where PostgreSQL's programs are when they are not on
// PATH: Debian's folder of each installed major version, newest first,
// then the default prefix of a build from source.
func searchDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return major(b) - major(a) })
	return append(dirs, "/usr/local/pgsql/bin")
}

// A server's folder is os.TempDir()/pgtest-*, and its ownerFile holds
// the process ID of the test that started it.
const (
	dirPrefix = "pgtest-"
	ownerFile = "owner.pid"
)

// reapOrphans stops the servers, and removes the folders, that tests
// started and could not stop because they died first (a test binary that
// times out or is killed runs no cleanup): those whose owner is gone.
func reapOrphans(base, bin string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		data := filepath.Join(dir, "pg", "data")
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			// As the user who owns the data folder: pg_ctl refuses root.
			s := &Server{bin: bin, Dir: dir}
			s.cred, _ = ownerOf(data)
			s.run("pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t", waitSeconds(), "-s")
		}
		os.RemoveAll(dir)
	}
}

func waitSeconds() string { return strconv.Itoa(int(wait / time.Second)) }
