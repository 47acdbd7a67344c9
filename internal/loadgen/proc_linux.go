package loadgen

import "syscall"

// childProcAttr has a started platform stopped (SIGTERM) if the load
// generator dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
