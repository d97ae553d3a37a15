package main

import (
	"errors"
	"flag"
	"strings"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/github"
)

func init() {
	repo := flag.String("github", "", "GitHub repository whose releases to follow, as OWNER/REPO (a token is read from GITHUB_TOKEN)")
	api := flag.String("github-api", "", "GitHub API root, for GitHub Enterprise (https://HOST/api/v3/) or a local server (default: GitHub's public API)")
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
		// App is "hello" whatever the repository is called; the key given
		// with -key is the cosign.pub that signed checksums.txt.
		return github.New(github.Options{
			Owner: owner, Repo: name,
			BaseURL:  *api,
			TokenEnv: "GITHUB_TOKEN",
			App:      "hello",
			Logger:   discardLogger(),
		})
	}})
}
