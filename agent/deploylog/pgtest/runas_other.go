//go:build !unix

package pgtest

import "os/exec"

// credential is unused where there are no Unix users: Start skips there.
type credential struct{}

func runAs() (*credential, error)        { return nil, nil }
func (c *credential) chown(string) error { return nil }
func (c *credential) apply(*exec.Cmd)    {}

func ownerOf(string) (*credential, error) { return nil, nil }
func alive(int) bool                      { return true }
