//go:build !windows

package apply

func symlinkSupported() error { return nil }
