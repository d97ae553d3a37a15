package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/molt-go/update/source/feed"
)

// WithKeyList returns the Server as a handler that also serves the key
// list in its folder (Dir/keys.json, which pkgserver root init and key
// issue write) at /keys.json and at /<app>/keys.json, where the feed
// Client of a program that pins roots looks for it. Every other request
// goes to s. Without a keys.json in the folder those two paths are 404 and
// programs that pin a signing key directly are served as before.
//
// The file is read again when it changes. A keys.json that does not check
// on its own (feed.ReadKeyFile) is an error now and, if it appears later,
// is logged and the last good one stays served. A key list in which none
// of the Server's signing keys is valid (feeds would verify for no program
// that pins the roots) is an error now, and logged if it appears later;
// it is served all the same, since serving the list before it could undo
// a revocation.
func (s *Server) WithKeyList() (http.Handler, error) {
	h := &keyListHandler{s: s, path: filepath.Join(s.dir, feed.KeysFile), now: s.now}
	if _, err := h.current(); err != nil {
		return nil, err
	}
	if h.signerErr != nil {
		return nil, h.signerErr
	}
	return h, nil
}

type keyListHandler struct {
	s    *Server
	path string
	now  func() time.Time

	mu   sync.Mutex
	stat fileStat // of the file last read; zero for none
	body []byte   // the last good keys.json, nil for none
	etag string
	// signerErr says that none of the Server's keys is valid in the list.
	signerErr error
}

func (h *keyListHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	first, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	isKeys := (first == feed.KeysFile && rest == "") || (rest == feed.KeysFile && feed.ValidName(first))
	if !isKeys || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.s.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	h.serve(rec, r)
	h.s.log.Info("feed: request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"bytes", rec.bytes, "duration", time.Since(start), "remote", r.RemoteAddr)
}

func (h *keyListHandler) serve(w http.ResponseWriter, r *http.Request) {
	body, err := h.current()
	if err != nil {
		h.s.log.Error("feed: the key list does not check; serving the last good one", "file", h.path, "err", err)
	}
	h.mu.Lock()
	body, etag := h.body, h.etag
	h.mu.Unlock()
	if body == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	// As for feed.json: caches may keep it but must ask each time, so a
	// revocation reaches clients at once.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", etag)
	http.ServeContent(w, r, feed.KeysFile, time.Time{}, bytes.NewReader(body))
}

// current reads the file again if it changed and returns the last good
// body (nil if there is none); the error says why a changed file was not
// taken.
func (h *keyListHandler) current() ([]byte, error) {
	fi, err := os.Stat(h.path)
	h.mu.Lock()
	defer h.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		h.stat, h.body, h.etag = fileStat{}, nil, ""
		return nil, nil
	}
	if err != nil {
		return h.body, fmt.Errorf("feed: key list: %w", err)
	}
	st := fileStat{name: feed.KeysFile, size: fi.Size(), mod: fi.ModTime().UnixNano()}
	if st == h.stat {
		return h.body, nil
	}
	body, err := readKeyList(h.path)
	if err != nil {
		return h.body, err
	}
	sum := sha256.Sum256(body)
	h.stat, h.body, h.etag = st, body, `"`+hex.EncodeToString(sum[:16])+`"`
	kf, _ := feed.ReadKeyFile(body)
	h.s.log.Info("feed: key list", "file", h.path, "version", kf.List().Version, "keys", len(kf.List().Keys))
	// A list that revokes this server's own key is still the one to
	// serve: keeping the older list would undo the revocation.
	if err := checkSigners(body, h.s.signers, h.now()); err != nil {
		h.signerErr = err
		h.s.log.Error("feed: this server's feeds will not verify under the key list", "file", h.path, "err", err)
	} else {
		h.signerErr = nil
	}
	return body, nil
}

// readKeyList reads and checks a keys.json file.
func readKeyList(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("feed: key list: %w", err)
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, feed.MaxKeyListSize+1))
	if err != nil {
		return nil, fmt.Errorf("feed: key list: %w", err)
	}
	if _, err := feed.ReadKeyFile(body); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return body, nil
}

// checkSigners says whether at least one signer is a signing key of the
// key list that is valid at now.
func checkSigners(keysJSON []byte, signers []*feed.Signer, now time.Time) error {
	kf, err := feed.ReadKeyFile(keysJSON)
	if err != nil {
		return err
	}
	l := kf.List()
	var ids []string
	for _, s := range signers {
		ids = append(ids, s.KeyID())
		for _, k := range l.Keys {
			if k.ID == s.KeyID() && now.Before(k.Expires) {
				return nil
			}
		}
	}
	return fmt.Errorf("feed: none of the signing keys (%s) is valid in key list %d: issue one (pkgserver key issue) or sign with one listed",
		strings.Join(ids, ", "), l.Version)
}
