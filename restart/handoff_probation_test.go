//go:build unix

package restart

import (
	"errors"
	"net"
	"testing"
)

// TestHandoffProbationCrashKeepsOldServing: a new version that is ready but
// dies half a second later, within a 2s probation, never takes a request;
// the old one serves throughout, owns the PID file again, and can still be
// upgraded.
func TestHandoffProbationCrashKeepsOldServing(t *testing.T) {
	t.Parallel()
	s := startHandoffServerOnProbation(t, "", "2s")
	// The dying version wrote its pid in Ready; the old server's comes back.
	failThenRecover(t, s, "crashlater", 3)
	if cur := s.info(); cur.Early != 0 {
		t.Errorf("the new version answered %d requests before its probation ended", cur.Early)
	}
}

// TestHandoffProbationHoldsAccept: under load, the new version on probation
// accepts nothing until Ready returns, then takes over.
func TestHandoffProbationHoldsAccept(t *testing.T) {
	t.Parallel()
	s := startHandoffServerOnProbation(t, "", "700ms")
	l := startHandoffLoad(t, s)
	l.waitFor(t, 0, "1", 50)
	l.phase.Store(1)
	if res := s.upgrade("server", "2"); !res.OK {
		t.Fatalf("upgrade: %+v", res)
	}
	if err := s.waitExit(); err != nil {
		t.Fatalf("old server did not drain cleanly: %v", err)
	}
	l.phase.Store(2)
	l.waitFor(t, 2, "2", 50)
	l.check(t, map[int32][]string{0: {"1"}, 1: {"1", "2"}, 2: {"2"}})
	cur := s.info()
	if cur.Version != "2" {
		t.Fatalf("version %q serves after the upgrade, want 2", cur.Version)
	}
	if cur.Early != 0 {
		t.Errorf("the new version answered %d requests while on probation", cur.Early)
	}
	if got := s.pidFile(); got != cur.PID {
		t.Errorf("PID file names %d, want the new server %d", got, cur.PID)
	}
}

// TestGatedListenerCloseEndsAccept: closing a listener still on probation
// ends its waiting Accept with net.ErrClosed, so a server can shut down.
func TestGatedListenerCloseEndsAccept(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := newGatedListener(ln, make(chan struct{}))
	accepted := make(chan error, 1)
	go func() {
		c, err := g.Accept()
		if c != nil {
			c.Close()
		}
		accepted <- err
	}()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := g.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

// TestGatedListenerOpens: once open is closed, Accept takes connections.
func TestGatedListenerOpens(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	g := newGatedListener(ln, open)
	defer g.Close()
	close(open)
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := g.Accept()
	if err != nil {
		t.Fatalf("Accept after the gate opened: %v", err)
	}
	c.Close()
}
