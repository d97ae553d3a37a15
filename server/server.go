package server

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// DefaultLifetime is how long a feed the Server signs stays valid. A week
// lets clients ride out a server that is down for days, yet bounds how long
// a frozen mirror can hide a new release.
const DefaultLifetime = 7 * 24 * time.Hour

// Options configure a Server.
type Options struct {
	// Dir is the folder of release files. Required.
	Dir string
	// Signer signs the feeds. Required.
	Signer *feed.Signer
	// ExtraSigners also sign every feed, while keys rotate: programs that
	// pin either the old or the new key accept the feed. Default: none.
	ExtraSigners []*feed.Signer
	// Lifetime is how long each signed feed is valid; the server signs again
	// once half of it has passed. Default: DefaultLifetime.
	Lifetime time.Duration
	// Logger receives a line per request and per folder change. Default:
	// slog.Default().
	Logger *slog.Logger
	// Patches is how many earlier releases of each platform a release's
	// feed lists binary patches from (patches.go); zero or negative, none
	// (pkgserver's -patches sets DefaultPatches). They are made in the
	// background when the folder changes, once per pair of executables,
	// cached in PatchDir, and listed in the feeds signed once they are made
	// (patches_worker.go); Close stops that work.
	Patches int
	// PatchMaxFraction drops a patch not smaller than this fraction of the
	// full asset. Default: DefaultPatchMaxFraction.
	PatchMaxFraction float64
	// PatchDir is the patch cache. Default: Dir/.patches.
	PatchDir string
	// PushScan is how often the folder is looked at while long-polls are
	// held (push.go), so how soon a file dropped in or a rollout changed
	// reaches the waiting clients. Default: DefaultPushScan.
	PushScan time.Duration
	// Relist is how often the folder is listed in full although its
	// modification time says that no file came, went or was renamed
	// (dirwatch.go): so how soon a file rewritten in place under its name
	// is seen. Default: DefaultRelist.
	Relist time.Duration
}

func (o *Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("feed: server: Dir is required")
	case o.Signer == nil:
		return errors.New("feed: server: Signer is required")
	case o.Lifetime < 0:
		return fmt.Errorf("feed: server: negative Lifetime %v", o.Lifetime)
	case o.PushScan < 0:
		return fmt.Errorf("feed: server: negative PushScan %v", o.PushScan)
	case o.Relist < 0:
		return fmt.Errorf("feed: server: negative Relist %v", o.Relist)
	case slices.Contains(o.ExtraSigners, nil):
		return errors.New("feed: server: nil in ExtraSigners")
	case o.PatchMaxFraction < 0 || o.PatchMaxFraction > 1:
		return fmt.Errorf("feed: server: PatchMaxFraction %v is not between 0 and 1", o.PatchMaxFraction)
	}
	return nil
}

// Server serves a folder of release files as signed feeds. It is an
// http.Handler answering GET and HEAD for:
//
//	/<app>/feed.json   the app's signed feed
//	/<app>/<file>      a file of the app, by name, or a patch its feed lists
//	/list              a JSON array of the names of all release files
//	/download/<file>   any release file, by name
//
// Files support Range, If-Range and If-None-Match; a file's ETag is its
// sha256, and a feed's ETag is the hash of its bytes, so a client that
// already has the feed gets 304 Not Modified. /list and /download are the
// routes gupper clients use, and win over an app named "list" or
// "download". Anything else is 404. A GET of feed.json?wait=N is a
// long-poll that answers when the feed changes (push.go).
//
// The folder is watched cheaply: each request stats it, and lists it
// again only when its modification time changed or Options.Relist has
// passed (dirwatch.go); only files whose name, size or modification time
// changed are hashed again. A feed is signed again when its releases
// change or half its lifetime has passed. A request for a feed that is
// current takes no lock.
type Server struct {
	dir      string
	signers  []*feed.Signer
	lifetime time.Duration
	relist   time.Duration
	log      *slog.Logger
	// now is the clock; a test seam.
	now func() time.Time

	mu      sync.Mutex
	b       builder
	stats   []fileStat
	files   map[string]*file         // by name
	apps    map[string]*feed.Payload // unsigned, by app
	feeds   map[string]*signed       // by app
	serials map[string]int64         // last serial signed, by app; survives an app's absence
	patcher *patcher
	patches map[string]patchFile // the patch files the feeds list, by "<app>/<name>"
	push    pushHub              // held long-polls (push.go)
	// gen counts the rebuilds of apps, so that a feed request while the
	// folder stays as it was skips comparing the releases (the hot path
	// of a polling fleet's 304s).
	gen uint64
	// listed is when the last refresh of the folder that succeeded began
	// (refreshAfterLocked).
	listed time.Time
	// seen is the folder's stat before its last full listing, which
	// requests compare with (dirwatch.go).
	seen dirSeen
	// listings counts the full listings of the folder, for tests.
	listings int
	// view is the feeds a request may answer from without mu.
	view atomic.Pointer[view]
	// lastStat is the newest stat of the folder a feed request made.
	lastStat atomic.Pointer[dirStat]
}

// signed is one app's current feed.
type signed struct {
	body     []byte
	etag     string
	issued   time.Time
	releases []byte // the JSON of the releases it lists, to notice changes
	gen      uint64 // Server.gen when it was last found current
	// etagHeader is the ETag header's value, made once and shared by the
	// answers (net/http never changes a header's slice in place).
	etagHeader []string
}

// Header values shared by every feed answer, as signed.etagHeader is.
var (
	jsonType = []string{"application/json"}
	noCache  = []string{"no-cache"}
)

// NewServer returns a Server for o. It scans the folder once, so that a
// folder that cannot be read is an error now rather than on each request.
func New(o Options) (*Server, error) {
	return newServer(o, time.Now)
}

func newServer(o Options, now func() time.Time) (*Server, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{
		dir:      o.Dir,
		signers:  append([]*feed.Signer{o.Signer}, o.ExtraSigners...),
		lifetime: o.Lifetime,
		relist:   cmp.Or(o.Relist, DefaultRelist),
		log:      o.Logger,
		now:      now,
		feeds:    make(map[string]*signed),
		serials:  make(map[string]int64),
		push:     newPushHub(o.PushScan),
	}
	s.b = builder{log: o.Logger, skipErrors: true}
	n, frac, cache, err := patchConfig(o.Dir, o.Patches, o.PatchMaxFraction, o.PatchDir)
	if err != nil {
		return nil, err
	}
	s.patcher = &patcher{n: n, fraction: frac, cache: cache, log: o.Logger}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// refreshLocked lists the folder, unless its stat says it is as last
// listed (dirwatch.go), and rebuilds the payloads if any file changed since
// the last look.
func (s *Server) refreshLocked() (err error) {
	began := time.Now()
	dirFi, err := statDir(s.dir)
	if err != nil {
		return err
	}
	// Taken once: patches made since the last look rebuild the payloads
	// whatever the folder says.
	stale := s.patcher.takeStale()
	defer func() {
		if err != nil && stale {
			s.patcher.stale.Store(true) // for the next look, which may succeed
		}
	}()
	if s.files != nil && !stale && s.seen.holds(dirFi, began, s.relist) {
		return nil
	}
	s.listings++
	stats, err := listDir(s.dir)
	if err != nil {
		return err
	}
	// Kept only once the listing is used (below, or at the end), so that
	// a rebuild that fails is tried again at the next request.
	listed := newDirSeen(dirFi, began, stats)
	if s.files != nil && !stale && slices.Equal(stats, s.stats) {
		s.seen = listed
		s.listedLocked()
		return nil
	}
	files, err := s.b.hashAll(s.dir, stats)
	if err != nil {
		return err
	}
	// Before the stats are kept, so that a broken rollouts file is read
	// again at the next request, and no feed is signed without it.
	ro, err := ReadRollouts(s.dir)
	if err != nil {
		return err
	}
	s.stats = stats
	s.files = make(map[string]*file, len(files))
	for i := range files {
		s.files[files[i].name] = &files[i]
	}
	s.apps = payloads(files)
	s.gen++
	// Only the patches already cached: the missing ones are made in the
	// background, and listed at a later refresh (patches_worker.go).
	s.patches = s.patcher.list(s.dir, s.apps)
	ro.apply(s.apps)
	s.seen = listed
	s.listedLocked()
	s.log.Info("feed: folder scanned", "dir", s.dir, "files", len(files), "apps", len(s.apps))
	return nil
}

// Feed returns the app's signed feed.json, signing it again first if the
// folder changed or half its lifetime has passed. An app with no files is
// an error wrapping source.ErrNotFound.
func (s *Server) Feed(app string) ([]byte, error) {
	f, err := s.feed(app)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(f.body), nil
}

func (s *Server) feed(app string) (*signed, error) {
	arrived := time.Now()
	if f := s.currentFeed(app, arrived); f != nil {
		return f, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshAfterLocked(arrived); err != nil {
		return nil, err
	}
	return s.feedLocked(app)
}

// refreshAfterLocked is refreshLocked unless a listing that began after
// arrived has been made since: feed requests queued on the lock (a
// polling fleet's 304s) then share one listing of the folder, and each
// still sees every file that was there when it came.
func (s *Server) refreshAfterLocked(arrived time.Time) error {
	if s.listed.After(arrived) {
		return nil
	}
	start := time.Now()
	if err := s.refreshLocked(); err != nil {
		return err
	}
	s.listed = start
	return nil
}

// feedLocked is feed on the folder as last listed.
func (s *Server) feedLocked(app string) (*signed, error) {
	p := s.apps[app]
	if p == nil {
		return nil, fmt.Errorf("%w: no files for app %q in %s", source.ErrNotFound, app, s.dir)
	}
	now := s.now()
	cur := s.feeds[app]
	if cur != nil && cur.gen == s.gen && now.Sub(cur.issued) < s.lifetime/2 {
		s.currentLocked(app, cur)
		return cur, nil
	}
	// What the feed says besides its dates: a change of a rollout, a pin
	// or a withdrawal signs a new feed as a new file does.
	releases, err := json.Marshal([]any{p.Releases, p.Pins, p.Withdrawn})
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if cur != nil && bytes.Equal(cur.releases, releases) && now.Sub(cur.issued) < s.lifetime/2 {
		cur.gen = s.gen
		s.currentLocked(app, cur)
		return cur, nil
	}
	// The serial is the clock in seconds, so it keeps growing across
	// restarts of the server, and at least one more than the last, so it
	// grows even when the feed changes twice in a second.
	serial := max(s.serials[app]+1, now.Unix())
	issued := now.UTC().Truncate(time.Second)
	out := feed.Payload{
		App:       app,
		Serial:    serial,
		Issued:    issued,
		Expires:   issued.Add(s.lifetime),
		Releases:  p.Releases,
		Pins:      p.Pins,
		Withdrawn: p.Withdrawn,
	}
	body, err := feed.Sign(&out, s.signers...)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	next := &signed{body: body, etag: etag, etagHeader: []string{etag}, issued: issued, releases: releases, gen: s.gen}
	s.feeds[app], s.serials[app] = next, serial
	s.currentLocked(app, next)
	s.push.signedLocked(app, next)
	s.log.Info("feed: signed", "app", app, "serial", serial, "releases", len(p.Releases),
		"expires", out.Expires)
	return next, nil
}

// ServeHTTP answers the routes listed on Server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Without a request log nothing is measured, so that a polling
	// fleet's 304s cost no allocation for it.
	if !s.log.Enabled(r.Context(), slog.LevelInfo) {
		s.route(w, r)
		return
	}
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.route(rec, r)
	s.log.Info("feed: request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"bytes", rec.bytes, "duration", time.Since(start), "remote", r.RemoteAddr)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	first, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case first == "list" && rest == "":
		s.serveList(w)
	case first == "download" && feed.ValidName(rest):
		s.serveFile(w, r, "", rest)
	case feed.ValidName(first) && rest == "feed.json":
		s.serveFeed(w, r, first)
	case feed.ValidName(first) && feed.ValidName(rest):
		s.serveFile(w, r, first, rest)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, app string) {
	if r.Method == http.MethodGet && r.URL.RawQuery != "" && r.URL.Query().Has(feed.WaitParam) {
		s.serveWait(w, r, app)
		return
	}
	f, err := s.feed(app)
	if errors.Is(err, source.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.Error("feed: cannot make the feed", "app", app, "err", err)
		http.Error(w, "cannot make the feed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	// Caches may keep the feed but must ask again each time; the ETag makes
	// asking cheap.
	h["Cache-Control"] = noCache
	h["Etag"] = f.etagHeader
	// A polling fleet's answer, without ServeContent's work: the request
	// names the current feed, and has none of the preconditions that
	// come before If-None-Match (RFC 9110, 13.2.2), so ServeContent would
	// answer 304 too.
	if r.Header.Get("If-Match") == "" && r.Header.Get("If-Unmodified-Since") == "" &&
		etagMatch(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = jsonType
	// No modification time: feeds signed twice in one second differ, so
	// If-Modified-Since could wrongly answer 304; the ETag cannot.
	http.ServeContent(w, r, "feed.json", time.Time{}, bytes.NewReader(f.body))
}

func (s *Server) serveList(w http.ResponseWriter) {
	s.mu.Lock()
	err := s.refreshLocked()
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		names = append(names, name)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("feed: cannot list the folder", "dir", s.dir, "err", err)
		http.Error(w, "cannot list the folder", http.StatusInternalServerError)
		return
	}
	slices.Sort(names)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(names)
}

// serveFile serves the release file name, which must belong to app unless
// app is empty.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, app, name string) {
	s.mu.Lock()
	err := s.refreshLocked()
	var want file
	f := s.files[name]
	if f != nil {
		want = *f
	}
	pf, isPatch := s.patches[app+"/"+name]
	s.mu.Unlock()
	if err == nil && f == nil && app != "" && isPatch {
		s.servePatch(w, r, name, pf)
		return
	}
	if err != nil {
		s.log.Error("feed: cannot list the folder", "dir", s.dir, "err", err)
		http.Error(w, "cannot list the folder", http.StatusInternalServerError)
		return
	}
	if f == nil || (app != "" && want.App != app) {
		http.NotFound(w, r)
		return
	}
	fh, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	// The digest is the ETag only if the file is still the one hashed; a
	// file replaced since is served without one (the client's digest check
	// still guards it).
	if fi.Size() == want.size && fi.ModTime().UnixNano() == want.mod {
		h.Set("ETag", `"`+want.sha256+`"`)
	}
	h.Set("Content-Type", "application/octet-stream")
	if app == "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	http.ServeContent(w, r, name, fi.ModTime(), fh)
}

// servePatch serves a patch file the app's feed lists.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, name string, pf patchFile) {
	fh, err := os.Open(pf.path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	if fi.Size() == pf.size {
		w.Header().Set("ETag", `"`+pf.sha256+`"`)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, fi.ModTime(), fh)
}

// recorder notes the status and size of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
