//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package cli

// noEcho does nothing here: term.ReadPassword turns echo off after the
// prompt is written.
func noEcho(int) (func(), error) { return func() {}, nil }
