//go:build !linux

package loadgen

import "syscall"

// childProcAttr: no Pdeathsig outside Linux; the load generator stops the
// platform it started when it ends.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
