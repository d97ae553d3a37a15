package deploylog_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/agent/deploylog/pgtest"
)

// pgWait bounds what a test waits for from PostgreSQL: generous, for a
// loaded machine under -race.
const pgWait = 2 * time.Minute

// TestOpenPostgres: Open takes postgres:// and postgresql:// URLs to the
// same database, and what one store wrote the next one opened reads.
func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), pgWait)
	defer cancel()
	db, err := deploylog.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.(*deploylog.Postgres); !ok {
		t.Errorf("Open(%q) = %T, want *Postgres", url, db)
	}
	d := &deploylog.Deployment{Project: "p", Machine: "m", Labels: []string{"a"}, Status: deploylog.StatusDone, Start: time.Now()}
	if err := db.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = deploylog.Open(ctx, "postgresql"+strings.TrimPrefix(url, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.List(ctx, 0)
	if err != nil || len(all) != 1 || all[0].ID != d.ID || all[0].Labels[0] != "a" || !all[0].Start.Equal(d.Start) {
		t.Errorf("after reopening: %+v, %v; want %+v", all, err, d)
	}
}

// TestPostgresOpenAtOnce: servers that start together on a new database
// all open it (the schema is made once, under a lock) and share it.
func TestPostgresOpenAtOnce(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), pgWait)
	defer cancel()
	const n = 6
	dbs := make([]*deploylog.Postgres, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = deploylog.OpenPostgres(ctx, url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d of %d at once: %v", i, n, err)
		}
		defer dbs[i].Close()
	}
	for i, db := range dbs {
		if err := db.Create(ctx, &deploylog.Deployment{Project: "p", Machine: fmt.Sprint(i), Status: deploylog.StatusDone}); err != nil {
			t.Fatal(err)
		}
	}
	if all, err := dbs[0].List(ctx, 0); err != nil || len(all) != n {
		t.Errorf("one of the stores lists %d deployments, %v; want %d", len(all), err, n)
	}
}

// TestPostgresUnreachable: a server that takes the connection and never
// answers fails Open within the default connect timeout, for a caller
// whose context has no deadline; the error does not show the password.
func TestPostgresUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Take every connection and hold it, silent, until the test ends.
	var accepting sync.WaitGroup
	accepting.Go(func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
	})
	defer accepting.Wait()
	defer ln.Close()
	url := "postgres://molt:s3cret@" + ln.Addr().String() + "/log?sslmode=disable"
	done := make(chan error, 1)
	go func() {
		db, err := deploylog.OpenPostgres(context.Background(), url)
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("OpenPostgres succeeded against a server that never answers")
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
		t.Logf("as expected: %v", err)
	case <-time.After(deploylog.PostgresConnectTimeout + pgWait):
		t.Fatal("OpenPostgres still waits for a server that never answers")
	}
}

// TestPostgresServerRestart: while the server is down, calls fail (they
// do not hang); once it is back the same store works again, on new
// connections.
func TestPostgresServerRestart(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), pgWait)
	defer cancel()
	db, err := deploylog.OpenPostgres(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := &deploylog.Deployment{Project: "p", Status: deploylog.StatusRunning, Start: time.Now()}
	if err := db.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	if _, err := db.List(ctx, 0); err == nil {
		t.Fatal("List succeeded with the server stopped")
	}
	srv.Restart(t)
	d.Status = deploylog.StatusDone
	if err := db.Update(ctx, d); err != nil {
		t.Fatalf("Update after the server came back: %v", err)
	}
	if g, err := db.Get(ctx, d.ID); err != nil || g.Status != deploylog.StatusDone {
		t.Errorf("Get after the server came back: %+v, %v", g, err)
	}
}
