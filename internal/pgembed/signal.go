package pgembed

import (
	"context"
	"fmt"
	"syscall"
)

// The fault-injection tests (e2e/faults_test.go) stop, crash and freeze the
// server under load: these are their handles on it.

// StopImmediate shuts the server down the way a crash does (immediate
// shutdown, SIGQUIT: no checkpoint, the next start replays the WAL) and
// waits for it to exit.
func (s *Server) StopImmediate(ctx context.Context) error {
	return s.stopWith(ctx, syscall.SIGQUIT)
}

// Freeze stops every process of the server (SIGSTOP to the postmaster and
// all its backends and helpers), as a hung host or a stalled disk does;
// connections stay open and nothing is answered. Thaw resumes them.
func (s *Server) Freeze() error { return s.signalAll(syscall.SIGSTOP) }

// Thaw resumes a server stopped by Freeze (SIGCONT to each of its processes).
func (s *Server) Thaw() error { return s.signalAll(syscall.SIGCONT) }

// signalAll signals the postmaster, then each of its children. Every child
// of the postmaster makes itself a process group and session leader
// (InitPostmasterChild's setsid), so signalling the postmaster's group
// would reach the postmaster alone. Stopped first, the postmaster starts
// no child meanwhile.
func (s *Server) signalAll(sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return fmt.Errorf("signalling postgres: not started")
	}
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signalling the postmaster with %v: %w", sig, err)
	}
	children, err := childPIDs(pid)
	if err != nil {
		return fmt.Errorf("listing the postmaster's processes: %w", err)
	}
	for _, c := range children {
		// A backend that exited meanwhile is no error.
		if err := syscall.Kill(c, sig); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("signalling postgres process %d with %v: %w", c, sig, err)
		}
	}
	return nil
}
