package pgtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestServer: a started server takes connections at its URL, as
// PostgreSQL, in the UTF8 encoding; databases made with NewDatabase are
// distinct; when the test ends it is stopped and its folder removed.
func TestServer(t *testing.T) {
	t.Parallel()
	var s *Server
	t.Run("running", func(t *testing.T) {
		s = Start(t)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		a, b := s.NewDatabase(t), s.NewDatabase(t)
		if a == b {
			t.Fatalf("NewDatabase gave %s twice", a)
		}
		conn, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var version, encoding string
		if err := conn.QueryRow(ctx, `SELECT version(), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&version, &encoding); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s at %s", version, s.URL("postgres"))
		if encoding != "UTF8" {
			t.Errorf("encoding %s, want UTF8", encoding)
		}
	})
	if s == nil {
		return // skipped
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("the server's folder %s is still there: %v", s.Dir, err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), 5*time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still takes connections after the test ended", s.Port)
	}
}

// TestReapOrphans: a server whose test died without stopping it (here:
// its owner file names a process that has exited) is stopped and its
// folder removed by the next Start.
func TestReapOrphans(t *testing.T) {
	t.Parallel()
	s := Start(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	reapOrphans(filepath.Dir(s.Dir), s.bin)
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("the orphan's folder %s is still there: %v", s.Dir, err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), 5*time.Second); err == nil {
		c.Close()
		t.Errorf("the orphan at port %d still takes connections", s.Port)
	}
}
