//go:build !linux

package pgembed

// writeback is Linux-only (sync_file_range); elsewhere the kernel's own
// writeback applies.
func (s *Server) writeback(stop <-chan struct{}) { <-stop }
