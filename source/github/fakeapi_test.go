package github

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFile is one file of a fake release.
type fakeFile struct {
	Name string
	Data []byte
	// Digest is what the API reports in the asset's "digest" field: ""
	// means the file's true sha256, "-" means no digest at all (assets
	// uploaded before GitHub computed them).
	Digest string
	id     int64
}

// fakeRelease is one release of the fake repository.
type fakeRelease struct {
	Tag        string
	Draft, Pre bool
	Files      []fakeFile
	id         int64
}

// fakeGitHub answers like the GitHub REST API for one repository (the
// list-releases and get-release-asset endpoints, with pagination, ETags,
// rate limits and private repositories), plus a second server standing in
// for the storage host that asset downloads are redirected to. Release
// objects are built from the documented example in testdata/api, so the
// JSON has the real API's shape.
type fakeGitHub struct {
	t           *testing.T
	owner, repo string
	api, store  *httptest.Server
	template    map[string]any

	mu       sync.Mutex
	releases []*fakeRelease // newest first, as GitHub lists them
	nextID   int64
	// token, when set, makes the repository private: API requests without
	// it, and public download URLs, get 404.
	token string
	// limit, when set, answers every API request: "primary" is a spent
	// hourly limit (403), "secondary" a secondary limit (429 Retry-After).
	limit    string
	resetAt  time.Time
	verbatim []byte // when set, the list endpoint returns these bytes

	// What the servers saw.
	fullPages, notModified int
	apiAsset               int      // asset downloads through the API
	storeAuth              []string // Authorization headers at the storage host
	storeRanges            []string
	apiAccept              []string
}

func newFakeGitHub(t *testing.T, owner, repo string) *fakeGitHub {
	t.Helper()
	raw, err := os.ReadFile("testdata/api/releases.json")
	if err != nil {
		t.Fatal(err)
	}
	var page []map[string]any
	if err := json.Unmarshal(raw, &page); err != nil || len(page) != 1 {
		t.Fatalf("testdata/api/releases.json: %v (%d releases)", err, len(page))
	}
	f := &fakeGitHub{t: t, owner: owner, repo: repo, template: page[0], nextID: 1000}
	f.api = httptest.NewServer(http.HandlerFunc(f.serveAPI))
	f.store = httptest.NewServer(http.HandlerFunc(f.serveStore))
	t.Cleanup(f.api.Close)
	t.Cleanup(f.store.Close)
	return f
}

// add publishes releases, newest last in the arguments, so that
// add(v1, v2) lists v2 first as GitHub does.
func (f *fakeGitHub) add(rs ...fakeRelease) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range rs {
		r := rs[i]
		f.nextID++
		r.id = f.nextID
		r.Files = append([]fakeFile(nil), r.Files...)
		for j := range r.Files {
			f.nextID++
			r.Files[j].id = f.nextID
		}
		f.releases = append([]*fakeRelease{&r}, f.releases...)
	}
}

func (f *fakeGitHub) set(fn func(f *fakeGitHub)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeGitHub) counts() (full, notModified int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fullPages, f.notModified
}

func (f *fakeGitHub) serveAPI(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-RateLimit-Limit", "60")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	switch f.limit {
	case "primary":
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(f.resetAt.Unix(), 10))
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
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		f.notFound(w)
		return
	}
	prefix := "/repos/" + f.owner + "/" + f.repo + "/releases"
	switch {
	case r.URL.Path == prefix:
		f.serveList(w, r)
	case strings.HasPrefix(r.URL.Path, prefix+"/assets/"):
		f.serveAsset(w, r, strings.TrimPrefix(r.URL.Path, prefix+"/assets/"))
	default:
		f.notFound(w)
	}
}

func (f *fakeGitHub) notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/releases/releases#list-releases","status":"404"}`)
}

func (f *fakeGitHub) serveList(w http.ResponseWriter, r *http.Request) {
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
	if f.verbatim != nil {
		body = f.verbatim
	} else {
		last = max(1, (len(f.releases)+perPage-1)/perPage)
		lo := min((pageNo-1)*perPage, len(f.releases))
		hi := min(lo+perPage, len(f.releases))
		objs := make([]map[string]any, 0, hi-lo)
		for _, rel := range f.releases[lo:hi] {
			objs = append(objs, f.releaseJSON(rel))
		}
		var err error
		if body, err = json.Marshal(objs); err != nil {
			f.t.Error(err)
		}
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Link", f.links(perPage, pageNo, last))
	if r.Header.Get("If-None-Match") == etag {
		f.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.fullPages++
	w.Write(body)
}

// links writes the Link header as GitHub does for page n of last.
func (f *fakeGitHub) links(perPage, n, last int) string {
	u := func(p int) string {
		return fmt.Sprintf("<%s/repos/%s/%s/releases?per_page=%d&page=%d>", f.api.URL, f.owner, f.repo, perPage, p)
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

// releaseJSON fills a copy of the documented release object.
func (f *fakeGitHub) releaseJSON(rel *fakeRelease) map[string]any {
	o := clone(f.template)
	base := fmt.Sprintf("%s/repos/%s/%s/releases", f.api.URL, f.owner, f.repo)
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
		a["browser_download_url"] = fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", f.store.URL, f.owner, f.repo, rel.Tag, file.Name)
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
func (f *fakeGitHub) serveAsset(w http.ResponseWriter, r *http.Request, id string) {
	f.apiAccept = append(f.apiAccept, r.Header.Get("Accept"))
	if r.Header.Get("Accept") != "application/octet-stream" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if _, file := f.find(func(_ *fakeRelease, ff *fakeFile) bool { return strconv.FormatInt(ff.id, 10) == id }); file == nil {
		f.notFound(w)
		return
	}
	f.apiAsset++
	http.Redirect(w, r, f.store.URL+"/blob/"+id+"?X-Amz-Signature=fake", http.StatusFound)
}

func (f *fakeGitHub) find(match func(*fakeRelease, *fakeFile) bool) (*fakeRelease, *fakeFile) {
	for _, rel := range f.releases {
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
func (f *fakeGitHub) serveStore(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.storeAuth = append(f.storeAuth, r.Header.Get("Authorization"))
	f.storeRanges = append(f.storeRanges, r.Header.Get("Range"))
	var file *fakeFile
	if id, ok := strings.CutPrefix(r.URL.Path, "/blob/"); ok {
		_, file = f.find(func(_ *fakeRelease, ff *fakeFile) bool { return strconv.FormatInt(ff.id, 10) == id })
	} else if f.token == "" {
		dir, name := path.Split(r.URL.Path)
		tag := path.Base(dir)
		_, file = f.find(func(rel *fakeRelease, ff *fakeFile) bool { return rel.Tag == tag && ff.Name == name })
	}
	f.mu.Unlock()
	if file == nil {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, file.Name, time.Time{}, bytes.NewReader(file.Data))
}
