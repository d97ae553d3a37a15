package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

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
	// ErrTimeout means a metadata request (the release list, a checksums
	// file, a signature, an attestation) did not finish within its deadline
	// (Options.Timeout): the server is stalled, or trickles its answer. It
	// wraps source.ErrUnavailable.
	ErrTimeout = fmt.Errorf("%w: github metadata request took too long", source.ErrUnavailable)
	// ErrTooLarge means a metadata answer was larger than its cap
	// (MaxMetadataSize, MaxSignatureSize). It wraps source.ErrBadMetadata.
	ErrTooLarge = fmt.Errorf("%w: github metadata too large", source.ErrBadMetadata)
	// ErrNoAsset means no file of a release is a program for the platform.
	// It is source.ErrNoAsset, so errors.Is(err, update.ErrNoAsset) holds.
	ErrNoAsset = source.ErrNoAsset
	// ErrOptions means the Options cannot work.
	ErrOptions = errors.New("github: bad options")
)

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
	// repositories and raises the rate limit from 60 to 5,000 requests an
	// hour. If empty, TokenEnv is read.
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

	// App is the program's name, with which its assets' names start
	// ("hugo" for hugo_0.139.0_linux-amd64.tar.gz). If empty, the default
	// is Repo.
	App string
	// Flavour chooses among builds of one platform that differ by a word
	// in their names, such as "extended" (hugo_extended_...) or "musl".
	// Empty means the plain build, the one with no such word (see the
	// package documentation, Assets).
	Flavour string
	// Platform, if not nil, replaces the naming rules: it reports the
	// platform that the asset called name was built for, and false for
	// files that are not programs of the app. The choice among the assets
	// it accepts follows the same rules as without it.
	Platform func(name string) (Platform, bool)
	// Executable names the executable inside the release's archives
	// exactly, for archives whose program is called neither like the app
	// nor like the archive ("bin/hello-cli"): with a "/" it is the entry's
	// path, without one its base name at any depth. ".exe" is added for
	// Windows assets. If empty, the updater looks for the usual names.
	Executable string
	// TagPrefix, when set, is the prefix of this app's tags in a
	// repository that releases several programs ("hello/" for tags
	// hello/v1.2.3, "hello-" for hello-v1.2.3): only tags with it count,
	// and what follows it must be a version. If empty, a tag may be a
	// version (v1.2.3, 1.2.3, v1.2), or one preceded by "release-" or by
	// the app's name and "-", "_", "/" or "@".
	TagPrefix string
	// Channel is the update channel of the updater that uses this source
	// (update.Options.Channel), which decides what a look asks for: on the
	// stable channel ("" or "stable") the latest-release endpoint is asked
	// first, and the release list only when the latest release changed;
	// on any other channel the release list is read. Set both to the same
	// value: on the stable channel a new prerelease is noticed only when
	// the latest stable release changes.
	Channel string
	// CacheDir, when set, is a directory where the source keeps what the
	// API answered (the release list, its ETags, checksums files,
	// signatures and attestations), so that a program started again, such
	// as a CLI that checks at every start, asks GitHub "has it changed?"
	// instead of fetching everything: a look at an unchanged repository
	// costs one request. The updater's state directory is a good choice
	// (the source writes a "github" folder in it, private to the user).
	// Every signature is checked again on every look, so a tampered cache
	// cannot pass off a forged release; only with TrustGitHubDigest, which
	// takes GitHub's digests as the cache kept them, must it be as
	// protected as the state directory is. If empty, the same is kept in
	// memory for the life of the Source only.
	CacheDir string
	// Timeout bounds each metadata request (a page of the release list, a
	// checksums or signature file, an attestation), from sending it to the
	// last byte of its answer, so that a stalled or trickling server ends
	// a look with ErrTimeout. If zero, the default is DefaultTimeout.
	// Downloads of the assets themselves have no such bound: the caller's
	// context bounds them.
	Timeout time.Duration

	// TrustGitHubDigest makes GitHub's own asset digest (the API's
	// "digest" field, over TLS) enough to install an asset that nothing
	// signed. It proves only that the bytes are those GitHub stored, not
	// who uploaded them: anyone who can upload to the repository's
	// releases (a stolen token, a compromised workflow) gets their file
	// installed. A signature pinned in the program is much stronger; use
	// this only for projects that sign nothing. If false (the default), a
	// verifying updater gets digests only from what its verifier accepted.
	TrustGitHubDigest bool
	// Depth is how many of the newest stable releases, and separately of
	// the newest prereleases, get their checksums, signatures and
	// attestations fetched and verified on each look. Older releases are
	// listed without those digests, so a verifying updater does not
	// install them. If zero, the default is 3; negative means every
	// release.
	Depth int
	// Logger receives a line for every release skipped and every file
	// verified. If nil, the default is slog.Default().
	Logger *slog.Logger
}

// DefaultTimeout bounds one metadata request when Options.Timeout is zero.
// The largest answers are pages of the release list: about 1 MiB for 100
// releases of a dozen assets, which takes 30 s at 35 KB/s, a poor mobile
// link. A minute leaves room for that and for GitHub's slower moments,
// and still gives up on a server that stalls, or that trickles a byte a
// second, long before a user wonders why the program hangs.
const DefaultTimeout = time.Minute

// defaultDepth keeps a look at a repository with hundreds of releases to a
// handful of small downloads, while the updater, which takes the newest
// release it may, still finds digests for it and for a fallback or two.
const defaultDepth = 3

// userAgent names this library to GitHub, which requires a User-Agent.
const userAgent = "molt-update"

// apiVersion is the REST API version the requests are written for.
const apiVersion = "2022-11-28"

// Source lists a repository's GitHub releases and opens their assets. It is
// safe for concurrent use; a look runs at a time.
type Source struct {
	owner, repo, app string
	token            string
	base             *url.URL
	http             *http.Client
	names            namer
	flavour, exe     string
	tags             tagRule
	stable           bool
	trustGitHub      bool
	depth            int
	timeout          time.Duration
	log              *slog.Logger

	mu    sync.Mutex // one look at a time; guards the cache
	cache *cache

	rate rateState // the last rate limit GitHub reported
}

var _ source.Source = (*Source)(nil)

// New returns a Source for the repository that o names. It does no I/O.
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
	app := o.App
	if app == "" {
		app = o.Repo
	}
	s := &Source{
		owner: o.Owner, repo: o.Repo, app: app,
		token: token, base: u,
		names:       namer{app: app, custom: o.Platform},
		flavour:     o.Flavour,
		exe:         o.Executable,
		tags:        tagRule{app: app, prefix: o.TagPrefix},
		stable:      o.Channel == "" || strings.EqualFold(o.Channel, "stable"),
		trustGitHub: o.TrustGitHubDigest,
		depth:       o.Depth,
		timeout:     o.Timeout,
		log:         o.Logger,
	}
	if s.depth == 0 {
		s.depth = defaultDepth
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("source", "github", "repo", o.Owner+"/"+o.Repo)
	s.cache = newCache(o.CacheDir, u, o.Owner, o.Repo, s.log)
	s.http = s.client(o.HTTPClient)
	return s, nil
}

func (o *Options) validate() error {
	for _, f := range []struct{ name, v string }{{"Owner", o.Owner}, {"Repo", o.Repo}} {
		if f.v == "" {
			return fmt.Errorf("%w: %s is required", ErrOptions, f.name)
		}
		if strings.ContainsAny(f.v, "/?#% \\") || f.v == "." || f.v == ".." {
			return fmt.Errorf("%w: %s %q is not a GitHub name", ErrOptions, f.name, f.v)
		}
	}
	if o.TagPrefix != "" && strings.TrimSpace(o.TagPrefix) != o.TagPrefix {
		return fmt.Errorf("%w: TagPrefix %q has spaces around it", ErrOptions, o.TagPrefix)
	}
	return nil
}

// client is c with this package's redirect policy on top of httpx's.
func (s *Source) client(c *http.Client) *http.Client {
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
	return hc
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

func (s *Source) repoName() string { return "repository " + s.owner + "/" + s.repo }

// origin is the listing's Origin: the repository as configured.
func (s *Source) origin() string { return s.base.JoinPath("repos", s.owner, s.repo).String() }
