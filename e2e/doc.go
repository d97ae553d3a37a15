// Package e2e holds the end-to-end tests: they build the example programs
// at several versions, serve them from the reference package server on a
// loopback port, and watch real processes update themselves. It has no
// code of its own.
package e2e
