// Package ghfake is a stand-in for the GitHub REST API, for tests: one
// repository's releases, listed and downloaded as GitHub does it, on
// loopback servers. The source/github tests and the end-to-end tests share
// it, so both talk to the same fake.
//
// It answers the list-releases endpoint (with pagination, Link headers and
// ETags), the latest-release endpoint (with ETags), the attestations
// endpoint (bundles by reference, snappy-compressed on the storage host, as
// GitHub serves them now, or inline as it did), and the get-release-asset
// endpoint (Accept: application/octet-stream, answered with a redirect to a
// second server that stands in for the storage host). It can play a
// private repository or a spent rate limit, counts what it was asked, and
// lets a test take over any API or storage request (State.Hook,
// State.StoreHook) to answer slowly, never, or forever. Release objects
// are built from a template, the documented example of the API, so the
// JSON has the real API's shape.
package ghfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// File is one file of a fake release.
type File struct {
	Name string
	Data []byte
	// Digest is what the API reports in the asset's "digest" field: ""
	// means the file's true sha256, "-" means no digest at all (assets
	// uploaded before GitHub computed them).
	Digest string
	id     int64
}

// Release is one release of the fake repository.
type Release struct {
	Tag        string
	Draft, Pre bool
	Files      []File
	id         int64
}

// State is what a test may change, and what the servers saw. Tests reach
// it through Server.Do, under the server's lock.
type State struct {
	// Token, when set, makes the repository private: API requests without
	// it, and public download URLs, get 404.
	Token string
	// Limit, when set, answers every API request: "primary" is a spent
	// hourly limit (403 with X-RateLimit-Remaining: 0, resetting at
	// ResetAt), "secondary" a secondary limit (429 with Retry-After: 60).
	Limit   string
	ResetAt time.Time
	// Verbatim, when set, is the body of every page of the release list.
	Verbatim []byte
	// InlineBundles makes the attestations endpoint put each bundle in its
	// answer, as GitHub did until 2026, instead of a bundle_url.
	InlineBundles bool
	// Hook, when set, sees every API request first, outside the server's
	// lock; if it returns true it has answered, and nothing else happens
	// (nothing is counted either).
	Hook func(w http.ResponseWriter, r *http.Request) bool
	// StoreHook is Hook for the storage host (downloads, bundles): it sees
	// every request there first, outside the server's lock.
	StoreHook func(w http.ResponseWriter, r *http.Request) bool

	// API counts the requests to the API, and Conditional those of them
	// with If-None-Match.
	API, Conditional int
	// FullPages and NotModified count list pages served in full and
	// answered 304; Latest and LatestNotModified the same for the
	// latest-release endpoint; Attestations the requests for
	// attestations.
	FullPages, NotModified        int
	Latest, LatestNotModified     int
	Attestations, BundleDownloads int
	// APIAsset counts asset downloads through the API.
	APIAsset int
	// APIAccept holds the Accept header of each request for an asset
	// through the API.
	APIAccept []string
	// StoreAuth and StoreRanges hold the Authorization and Range headers
	// of each request to the storage host.
	StoreAuth, StoreRanges []string
}

// Server is the fake API for the repository Owner/Repo. Its servers close
// when the test ends.
type Server struct {
	Owner, Repo string

	t          testing.TB
	api, store *httptest.Server
	template   map[string]any

	mu       sync.Mutex
	releases []*Release          // newest first, as GitHub lists them
	attest   map[string][][]byte // Sigstore bundles by hex sha256 subject digest
	nextID   int64
	st       State
}

// New starts a fake for owner/repo. template is a page of the list-releases
// endpoint holding one release with at least one asset, such as the
// documented example in source/github/testdata/api/releases.json; every
// release and asset served is a copy of it with its fields filled in.
func New(t testing.TB, owner, repo string, template []byte) *Server {
	t.Helper()
	var page []map[string]any
	if err := json.Unmarshal(template, &page); err != nil || len(page) != 1 {
		t.Fatalf("ghfake: template: %v (%d releases, want 1)", err, len(page))
	}
	if as, ok := page[0]["assets"].([]any); !ok || len(as) == 0 {
		t.Fatal("ghfake: the template release has no asset")
	}
	s := &Server{Owner: owner, Repo: repo, t: t, template: page[0], nextID: 1000, attest: map[string][][]byte{}}
	s.api = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.store = httptest.NewServer(http.HandlerFunc(s.serveStore))
	t.Cleanup(s.api.Close)
	t.Cleanup(s.store.Close)
	return s
}

// APIURL is the root of the fake REST API, for github.Options.BaseURL.
func (s *Server) APIURL() string { return s.api.URL }

// StoreURL is the root of the storage host.
func (s *Server) StoreURL() string { return s.store.URL }

// Add publishes releases, newest last in the arguments, so that Add(v1, v2)
// lists v2 first as GitHub does.
func (s *Server) Add(rs ...Release) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rs {
		r := rs[i]
		s.nextID++
		r.id = s.nextID
		r.Files = append([]File(nil), r.Files...)
		for j := range r.Files {
			s.nextID++
			r.Files[j].id = s.nextID
		}
		s.releases = append([]*Release{&r}, s.releases...)
	}
}

// Attest stores an attestation (a Sigstore bundle, JSON) for the artifacts
// with the given sha256 digests (hex), as the attest action does for each
// of its subjects.
func (s *Server) Attest(bundle []byte, sha256Hex ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range sha256Hex {
		s.attest[d] = append(s.attest[d], bundle)
	}
}

// Do calls fn with the server's state, under its lock: to change how it
// answers, or to look at what it saw.
func (s *Server) Do(fn func(st *State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.st)
}

// Counts returns how many list pages were served in full and how many
// were answered 304 Not Modified.
func (s *Server) Counts() (full, notModified int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.FullPages, s.st.NotModified
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.st.Hook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.API++
	if r.Header.Get("If-None-Match") != "" {
		s.st.Conditional++
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-RateLimit-Limit", "60")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	switch s.st.Limit {
	case "primary":
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.st.ResetAt.Unix(), 10))
		h.Set("X-RateLimit-Used", "60")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit.)","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
		return
	case "secondary":
		h.Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
		return
	}
	h.Set("X-RateLimit-Remaining", "59")
	if s.st.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.st.Token {
		notFound(w)
		return
	}
	prefix := "/repos/" + s.Owner + "/" + s.Repo + "/releases"
	switch {
	case r.URL.Path == prefix:
		s.serveList(w, r)
	case r.URL.Path == prefix+"/latest":
		s.serveLatest(w, r)
	case strings.HasPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/attestations/sha256:"):
		s.serveAttestations(w, strings.TrimPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/attestations/sha256:"))
	case strings.HasPrefix(r.URL.Path, prefix+"/assets/"):
		s.serveAsset(w, r, strings.TrimPrefix(r.URL.Path, prefix+"/assets/"))
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/releases/releases#list-releases","status":"404"}`)
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pageNo <= 0 {
		pageNo = 1
	}
	var body []byte
	last := 1
	if s.st.Verbatim != nil {
		body = s.st.Verbatim
	} else {
		last = max(1, (len(s.releases)+perPage-1)/perPage)
		lo := min((pageNo-1)*perPage, len(s.releases))
		hi := min(lo+perPage, len(s.releases))
		objs := make([]map[string]any, 0, hi-lo)
		for _, rel := range s.releases[lo:hi] {
			objs = append(objs, s.releaseJSON(rel))
		}
		var err error
		if body, err = json.Marshal(objs); err != nil {
			s.t.Error(err)
		}
	}
	etag := etagOf(body)
	w.Header().Set("ETag", etag)
	w.Header().Set("Link", s.links(perPage, pageNo, last))
	if r.Header.Get("If-None-Match") == etag {
		s.st.NotModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.st.FullPages++
	w.Write(body)
}

// serveLatest answers the latest-release endpoint: the newest published
// release that is not a prerelease, or 404.
func (s *Server) serveLatest(w http.ResponseWriter, r *http.Request) {
	for _, rel := range s.releases {
		if rel.Draft || rel.Pre {
			continue
		}
		body, err := json.Marshal(s.releaseJSON(rel))
		if err != nil {
			s.t.Error(err)
		}
		etag := etagOf(body)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			s.st.LatestNotModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.st.Latest++
		w.Write(body)
		return
	}
	s.st.Latest++
	notFound(w)
}

// serveAttestations answers GET /repos/o/r/attestations/sha256:{hex}: the
// bundles by reference (bundle null, bundle_url to a snappy block on the
// storage host), or inline with State.InlineBundles.
func (s *Server) serveAttestations(w http.ResponseWriter, digest string) {
	s.st.Attestations++
	bundles := s.attest[digest]
	if len(bundles) == 0 {
		notFound(w)
		return
	}
	type entry struct {
		Bundle       json.RawMessage `json:"bundle"`
		RepositoryID int64           `json:"repository_id"`
		BundleURL    string          `json:"bundle_url,omitempty"`
	}
	var out struct {
		Attestations []entry `json:"attestations"`
	}
	for i, b := range bundles {
		e := entry{Bundle: json.RawMessage("null"), RepositoryID: 1296269}
		if s.st.InlineBundles {
			e.Bundle = b
		} else {
			e.BundleURL = fmt.Sprintf("%s/attestations/%s/%d.json.sn?sig=fake", s.store.URL, digest, i)
		}
		out.Attestations = append(out.Attestations, e)
	}
	body, err := json.Marshal(out)
	if err != nil {
		s.t.Error(err)
	}
	w.Write(body)
}

func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + hex.EncodeToString(sum[:16]) + `"`
}

// links writes the Link header as GitHub does for page n of last.
func (s *Server) links(perPage, n, last int) string {
	u := func(p int) string {
		return fmt.Sprintf("<%s/repos/%s/%s/releases?per_page=%d&page=%d>", s.api.URL, s.Owner, s.Repo, perPage, p)
	}
	var ls []string
	if n > 1 {
		ls = append(ls, u(n-1)+`; rel="prev"`)
	}
	if n < last {
		ls = append(ls, u(n+1)+`; rel="next"`, u(last)+`; rel="last"`)
	}
	if n > 1 {
		ls = append(ls, u(1)+`; rel="first"`)
	}
	return strings.Join(ls, ", ")
}

// releaseJSON fills a copy of the template release.
func (s *Server) releaseJSON(rel *Release) map[string]any {
	o := clone(s.template)
	base := fmt.Sprintf("%s/repos/%s/%s/releases", s.api.URL, s.Owner, s.Repo)
	o["url"] = fmt.Sprintf("%s/%d", base, rel.id)
	o["assets_url"] = fmt.Sprintf("%s/%d/assets", base, rel.id)
	o["id"] = rel.id
	o["tag_name"] = rel.Tag
	o["name"] = rel.Tag
	o["body"] = "Release " + rel.Tag
	o["draft"] = rel.Draft
	o["prerelease"] = rel.Pre
	assetTemplate := o["assets"].([]any)[0].(map[string]any)
	assets := []any{}
	for _, file := range rel.Files {
		a := clone(assetTemplate)
		a["url"] = fmt.Sprintf("%s/assets/%d", base, file.id)
		a["browser_download_url"] = fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", s.store.URL, s.Owner, s.Repo, rel.Tag, file.Name)
		a["id"] = file.id
		a["name"] = file.Name
		a["label"] = ""
		a["size"] = len(file.Data)
		switch file.Digest {
		case "":
			sum := sha256.Sum256(file.Data)
			a["digest"] = "sha256:" + hex.EncodeToString(sum[:])
		case "-":
			a["digest"] = nil
		default:
			a["digest"] = file.Digest
		}
		assets = append(assets, a)
	}
	o["assets"] = assets
	return o
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// serveAsset answers GET /repos/o/r/releases/assets/{id} with
// Accept: application/octet-stream: a redirect to the storage host, as
// GitHub does for private and public assets alike.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, id string) {
	s.st.APIAccept = append(s.st.APIAccept, r.Header.Get("Accept"))
	if r.Header.Get("Accept") != "application/octet-stream" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if _, file := s.find(func(_ *Release, f *File) bool { return strconv.FormatInt(f.id, 10) == id }); file == nil {
		notFound(w)
		return
	}
	s.st.APIAsset++
	http.Redirect(w, r, s.store.URL+"/blob/"+id+"?X-Amz-Signature=fake", http.StatusFound)
}

func (s *Server) find(match func(*Release, *File) bool) (*Release, *File) {
	for _, rel := range s.releases {
		for i := range rel.Files {
			if match(rel, &rel.Files[i]) {
				return rel, &rel.Files[i]
			}
		}
	}
	return nil, nil
}

// serveStore is the storage host: signed blob URLs (after the API's
// redirect) and the public download URLs of a public repository.
func (s *Server) serveStore(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.st.StoreHook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	s.mu.Lock()
	s.st.StoreAuth = append(s.st.StoreAuth, r.Header.Get("Authorization"))
	s.st.StoreRanges = append(s.st.StoreRanges, r.Header.Get("Range"))
	if rest, ok := strings.CutPrefix(r.URL.Path, "/attestations/"); ok {
		digest, name, _ := strings.Cut(rest, "/")
		i, _ := strconv.Atoi(strings.TrimSuffix(name, ".json.sn"))
		bundles := s.attest[digest]
		s.st.BundleDownloads++
		s.mu.Unlock()
		if i < 0 || i >= len(bundles) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-snappy")
		w.Write(s2.EncodeSnappy(nil, bundles[i]))
		return
	}
	var file *File
	if id, ok := strings.CutPrefix(r.URL.Path, "/blob/"); ok {
		_, file = s.find(func(_ *Release, f *File) bool { return strconv.FormatInt(f.id, 10) == id })
	} else if s.st.Token == "" {
		dir, name := path.Split(r.URL.Path)
		tag := path.Base(dir)
		_, file = s.find(func(rel *Release, f *File) bool { return rel.Tag == tag && f.Name == name })
	}
	s.mu.Unlock()
	if file == nil {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, file.Name, time.Time{}, bytes.NewReader(file.Data))
}
