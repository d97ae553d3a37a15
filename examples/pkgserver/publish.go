package main

import "errors"

// publish uploads a folder as a signed feed to a bucket or a folder.
func publish(args []string) error {
	return errors.New("publish: not available yet")
}
