//go:build !linux

package pgembed

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

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

// childPIDs lists the processes whose parent is pid (pgrep -P).
func childPIDs(pid int) ([]int, error) {
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return nil, nil // none
		}
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}
