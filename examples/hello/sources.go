package main

import (
	"errors"
	"strings"

	"github.com/molt-go/update/source"
)

// sourceFlag is one way hello can find releases: the flags it adds and how
// it makes a Source from them. Each source lives in a file of its own
// (source_feed.go, ...) and adds itself to sources in init.
type sourceFlag struct {
	name string
	// make returns the Source when its flag was given, or nil.
	make func() (source.Source, error)
}

var sources []sourceFlag

// chosenSource returns the Source named on the command line, nil if none.
func chosenSource() (source.Source, error) {
	var chosen []string
	var src source.Source
	for _, s := range sources {
		got, err := s.make()
		if err != nil {
			return nil, err
		}
		if got != nil {
			chosen = append(chosen, s.name)
			src = got
		}
	}
	if len(chosen) > 1 {
		return nil, errors.New("choose one source, not " + strings.Join(chosen, " and "))
	}
	return src, nil
}
