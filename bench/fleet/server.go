package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

// serveChild is the reference server in a process of its own, so that its
// CPU time is its own: server.New over -dir, on a loopback port it prints,
// plus GET /_cpu answering its getrusage.
func serveChild(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	dir := fs.String("dir", "", "releases folder")
	keyFile := fs.String("key", "", "signing key")
	logReqs := fs.Bool("log", false, "log every request, as pkgserver serve does")
	fs.Parse(args)
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	signer, err := feed.LoadSigner(pem)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if *logReqs {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := server.New(server.Options{Dir: *dir, Signer: signer, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_cpu", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(cpuNow())
	})
	// A CPU profile of the server over a phase (-serverprofile).
	mux.HandleFunc("POST /_profile", func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Query().Get("to")
		if path == "" {
			pprof.StopCPUProfile()
			return
		}
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.Handle("/", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("serving http://%s/\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(srv.EndWaits)
	// The parent closes stdin when it is done.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		hs.Close()
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cpu is a process's CPU time in seconds.
type cpu struct {
	User, Sys float64
}

func (c cpu) total() float64 { return c.User + c.Sys }

func (c cpu) sub(d cpu) cpu { return cpu{c.User - d.User, c.Sys - d.Sys} }

func cpuNow() cpu {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return cpu{User: sec(ru.Utime), Sys: sec(ru.Stime)}
}

// child is the running server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	base  string // http://addr/
	http  *http.Client
}

func startChild(dir, key string, logReqs bool) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"server", "-dir", dir, "-key", key}
	if logReqs {
		args = append(args, "-log")
	}
	cmd := exec.Command(exe, args...)
	// With -log the lines are written and thrown away, as a log
	// shipper would take them.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd.Stderr = devnull
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("the server did not start: %v", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "serving ")
	if !ok {
		cmd.Process.Kill()
		return nil, fmt.Errorf("the server said %q", line)
	}
	return &child{cmd: cmd, stdin: stdin, base: base, http: &http.Client{Timeout: 10 * time.Second}}, nil
}

func (c *child) cpu() (cpu, error) {
	resp, err := c.http.Get(c.base + "_cpu")
	if err != nil {
		return cpu{}, err
	}
	defer resp.Body.Close()
	var v cpu
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// profile starts the server's CPU profile into path, or stops it if path
// is empty.
func (c *child) profile(path string) error {
	resp, err := c.http.Post(c.base+"_profile?to="+url.QueryEscape(path), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("profile: %s: %s", resp.Status, b)
	}
	return nil
}

func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
