package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
)

// Errors returned by this package, to be tested with errors.Is. Errors from
// the API also wrap the source errors (source.ErrNotFound, source.ErrAccess,
// source.ErrUnavailable, source.ErrBadMetadata), and failed verifications
// wrap the verify errors (verify.ErrBadSignature, verify.ErrChecksums,
// verify.ErrDigestMismatch).
var (
	// ErrRateLimited means GitHub refused the request because the rate
	// limit is spent; the error is a *RateLimitError that says when it
	// resets. It wraps source.ErrUnavailable, since trying later works.
	ErrRateLimited = fmt.Errorf("%w: github rate limit exceeded", source.ErrUnavailable)
	// ErrNoAsset means no file of a release is a program for the platform.
	// It is source.ErrNoAsset, so errors.Is(err, update.ErrNoAsset) holds.
	ErrNoAsset = source.ErrNoAsset
	// ErrAmbiguousAsset means several different files of a release fit the
	// platform equally well, so none is chosen.
	ErrAmbiguousAsset = errors.New("github: several assets for this platform")
	// ErrOptions means the Options cannot work.
	ErrOptions = errors.New("github: bad options")
)

// RateLimitError is GitHub's answer when the rate limit is spent (403 or
// 429 with X-RateLimit-Remaining: 0, or a secondary limit with
// Retry-After). errors.Is(err, ErrRateLimited) holds for it.
type RateLimitError struct {
	// Reset is when GitHub accepts requests again; zero if it did not say.
	Reset time.Time
	// Message is GitHub's explanation, if any.
	Message string
}

// Error says when the limit resets, so a log line alone tells how long to
// wait.
func (e *RateLimitError) Error() string {
	msg := ErrRateLimited.Error()
	if !e.Reset.IsZero() {
		msg += " until " + e.Reset.UTC().Format(time.RFC3339)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Options configure a Source. Only Owner and Repo are required.
type Options struct {
	// Owner and Repo name the repository, as in github.com/Owner/Repo.
	Owner, Repo string
	// BaseURL is the REST API root. If empty, the default is GitHub's
	// public API; for GitHub Enterprise Server it is
	// "https://HOST/api/v3/". A token is never sent over plain http except
	// to a loopback address.
	BaseURL string
	// Token authenticates to the API (a personal access token or an app
	// installation token with contents:read). It is needed for private
	// repositories and raises the rate limit. If empty, TokenEnv is read.
	Token string
	// TokenEnv is the name of an environment variable to read the token
	// from, such as "GITHUB_TOKEN", read once by New. If empty, the
	// environment is not read.
	TokenEnv string
	// HTTPClient makes every request. If nil, one with connect, TLS and
	// header timeouts and proxies from the environment. Either way, https
	// is never redirected to http, and the token never follows a redirect
	// to another host.
	HTTPClient *http.Client
	// App is the program's name, with which its assets' names start. If
	// empty, the default is Repo.
	App string
	// Platform, if not nil, replaces the built-in naming rules: it reports
	// the platform that the asset called name was built for, and false for
	// files that are not programs of the app. If nil, the default is
	// MatchAsset(name, App).
	Platform func(name string) (Platform, bool)
	// TrustGitHubDigest makes GitHub's own asset digest (the API's
	// "digest" field, over TLS) enough to install a release that has no
	// signed checksums file. If false (the default), a verifying updater
	// gets digests only from a checksums file whose signature its verifier
	// accepted.
	TrustGitHubDigest bool
	// Depth is how many of the newest stable releases, and separately of
	// the newest prereleases, get their checksums and signatures fetched
	// and verified on each look. Older releases are listed without those
	// digests, so a verifying updater does not install them. If zero, the
	// default is 3; negative means every release.
	Depth int
	// Logger receives a line for every release skipped and every file
	// verified. If nil, the default is slog.Default().
	Logger *slog.Logger
}

// defaultDepth keeps a look at a repository with hundreds of releases to a
// handful of small downloads, while the updater, which takes the newest
// release it may, still finds digests for it and for a fallback or two.
const defaultDepth = 3

// userAgent names this library to GitHub, which requires a User-Agent.
const userAgent = "molt-update"

// Source lists a repository's GitHub releases and opens their assets. It is
// safe for concurrent use; a look runs at a time.
type Source struct {
	owner, repo, app string
	token            string
	base             *url.URL
	platform         func(string) (Platform, bool)
	trustGitHub      bool
	depth            int
	log              *slog.Logger
	goarm, goamd64   int

	clients atomic.Pointer[clients] // set once by New

	mu    sync.Mutex       // one look at a time; guards the caches
	pages map[int]*page    // ETag cache of the release list, by page number
	files map[int64][]byte // checksums and signature files, by asset ID
}

// clients are the HTTP client with this package's redirect policy and the
// API client built on it.
type clients struct {
	http *http.Client
	api  *gh.Client
}

var _ source.Source = (*Source)(nil)

// New returns a Source for the repository that o names.
func New(o Options) (*Source, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	base := "https://api.github.com/"
	if o.BaseURL != "" {
		base = o.BaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL %q is not an http(s) URL", ErrOptions, o.BaseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	token := o.Token
	if token == "" && o.TokenEnv != "" {
		token = strings.TrimSpace(os.Getenv(o.TokenEnv))
	}
	if token != "" && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: refusing to send a token over plain http to %s", ErrOptions, u.Host)
	}
	s := &Source{
		owner: o.Owner, repo: o.Repo, app: o.App,
		token: token, base: u,
		platform:    o.Platform,
		trustGitHub: o.TrustGitHubDigest,
		depth:       o.Depth,
		log:         o.Logger,
		pages:       map[int]*page{},
		files:       map[int64][]byte{},
	}
	if s.app == "" {
		s.app = o.Repo
	}
	if s.platform == nil {
		app := s.app
		s.platform = func(name string) (Platform, bool) { return MatchAsset(name, app) }
	}
	if s.depth == 0 {
		s.depth = defaultDepth
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("source", "github", "repo", o.Owner+"/"+o.Repo)
	s.goarm, s.goamd64 = buildVariants()
	if err := s.setHTTP(o.HTTPClient); err != nil {
		return nil, err
	}
	return s, nil
}

func (o *Options) validate() error {
	for _, f := range []struct{ name, v string }{{"Owner", o.Owner}, {"Repo", o.Repo}} {
		if f.v == "" {
			return fmt.Errorf("%w: %s is required", ErrOptions, f.name)
		}
		if strings.ContainsAny(f.v, "/?#% ") || f.v == "." || f.v == ".." {
			return fmt.Errorf("%w: %s %q is not a GitHub name", ErrOptions, f.name, f.v)
		}
	}
	return nil
}

// setHTTP builds the HTTP and API clients on top of c.
func (s *Source) setHTTP(c *http.Client) error {
	hc := httpx.Client(c)
	policy := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// The standard library keeps Authorization on a redirect to the
		// same host name even on another port; the token is for the API
		// host alone, never for the storage it redirects downloads to.
		if len(via) > 0 && req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		return policy(req, via)
	}
	base := s.base.String()
	api, err := gh.NewClient(gh.WithHTTPClient(hc), gh.WithURLs(&base, nil), gh.WithUserAgent(userAgent))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOptions, err)
	}
	s.clients.Store(&clients{http: hc, api: api})
	return nil
}

// authorize adds the token to a request for the API host.
func (s *Source) authorize(req *http.Request) {
	if s.token != "" && s.isAPI(req.URL) {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
}

// isAPI reports whether u is under the API root, the only place the token
// goes.
func (s *Source) isAPI(u *url.URL) bool {
	return u.Scheme == s.base.Scheme && strings.EqualFold(u.Host, s.base.Host) &&
		strings.HasPrefix(u.Path, s.base.Path)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildVariants returns the GOARM and GOAMD64 levels this program was built
// for, from its build information, so that the asset chosen for this
// machine's architecture runs here; zero where unknown.
func buildVariants() (goarm, goamd64 int) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return 0, 0
	}
	for _, kv := range bi.Settings {
		v := strings.TrimPrefix(kv.Value, "v")
		v, _, _ = strings.Cut(v, ",") // GOARM=6,softfloat
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch kv.Key {
		case "GOARM":
			goarm = n
		case "GOAMD64":
			goamd64 = n
		}
	}
	return goarm, goamd64
}
