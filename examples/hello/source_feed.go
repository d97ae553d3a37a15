package main

import (
	"flag"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

func init() {
	url := flag.String("feed", "", "URL of the signed feed, e.g. http://127.0.0.1:8080/hello/")
	sources = append(sources, sourceFlag{name: "-feed", make: func() (source.Source, error) {
		if *url == "" {
			return nil, nil
		}
		return feed.New(*url), nil
	}})
}
