//go:build !linux

package pgembed

import "syscall"

// osSettings: the flush-after settings and sync_file_range are Linux's.
func osSettings() []string { return nil }

// procAttr starts the server in its own process group, as cred. (No
// Pdeathsig outside Linux: Stop ends the server.)
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}

// writeback is Linux-only (sync_file_range); elsewhere the kernel's own
// writeback applies.
func (s *Server) writeback(stop <-chan struct{}) { <-stop }
