package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/github"
	"github.com/molt-go/update/verify"
)

// githubVerifier, when not nil, makes the verifier that hello's GitHub
// verification flags ask for (keyless Sigstore, GitHub attestations,
// minisign, OpenPGP), or nil when none is given; see
// source_github_verifiers.go. A build with -tags hello_lean leaves those
// flags out, and the heavy libraries with them.
var githubVerifier func(repo string) (verify.Verifier, error)

func init() {
	repo := flag.String("github", "", "GitHub repository whose releases to follow, as OWNER/REPO (a token is read from GITHUB_TOKEN)")
	api := flag.String("github-api", "", "GitHub API root, for GitHub Enterprise (https://HOST/api/v3/) or a local server (default: GitHub's public API)")
	app := flag.String("github-app", "hello", "name the release's files start with")
	flavour := flag.String("github-flavour", "", "build to take among several of one platform, such as extended or musl (default: the plain one)")
	exe := flag.String("github-exe", "", "name of the program inside the release's archives, when it is not the usual one")
	tagPrefix := flag.String("github-tag-prefix", "", "prefix of this program's tags in a repository that releases several (hello/ for hello/v1.2.3)")
	trustDigest := flag.Bool("github-trust-digest", false, "install on GitHub's own digest when nothing is signed (weaker than a signature: see source/github)")
	timeout := flag.Duration("github-timeout", 0, "deadline of each request for release metadata (default 1m)")
	sources = append(sources, sourceFlag{name: "-github", make: func() (source.Source, error) {
		if *repo == "" {
			if *api != "" {
				return nil, errors.New("-github-api needs -github OWNER/REPO")
			}
			return nil, nil
		}
		owner, name, ok := strings.Cut(*repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, errors.New("-github wants OWNER/REPO, not " + *repo)
		}
		// The archives goreleaser makes are named after the program, so
		// App is "hello" whatever the repository is called. The answers of
		// the API are kept in the state directory, so that hello, which
		// looks at every start, costs GitHub one request when nothing
		// changed.
		src, err := github.New(github.Options{
			Owner: owner, Repo: name,
			BaseURL:           *api,
			TokenEnv:          "GITHUB_TOKEN",
			App:               *app,
			Flavour:           *flavour,
			Executable:        *exe,
			TagPrefix:         *tagPrefix,
			TrustGitHubDigest: *trustDigest,
			Timeout:           *timeout,
			CacheDir:          stateDirFlag(),
			Logger:            discardLogger(),
		})
		if err != nil || githubVerifier == nil {
			return src, err
		}
		v, err := githubVerifier(*repo)
		if err != nil || v == nil {
			return src, err
		}
		return verifiedBy{Source: src, v: v}, nil
	}})
}

// stateDirFlag is the state directory hello's updater uses: -state, or
// the updater's default, <user config dir>/molt/hello.
func stateDirFlag() string {
	if f := flag.Lookup("state"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "" // the cache stays in memory; the updater says why it cannot run
	}
	return filepath.Join(dir, "molt", "hello")
}

// verifiedBy is the GitHub source checking releases with the verifier
// hello's GitHub flags chose, rather than with the -key PEM key that hello
// gives its updater. A signature beside an asset would be checked by the
// updater with that key, which cannot read it, so it is left out: the
// asset is then installed on the digest of a checksums file the chosen
// verifier accepted, or refused.
type verifiedBy struct {
	*github.Source
	v verify.Verifier
}

func (s verifiedBy) Releases(ctx context.Context, _ verify.Verifier) (*source.Listing, error) {
	l, err := s.Source.Releases(ctx, s.v)
	if err != nil {
		return nil, err
	}
	for i := range l.Releases {
		for j := range l.Releases[i].Assets {
			l.Releases[i].Assets[j].Signature = nil
		}
	}
	return l, nil
}
