// Command devsmith runs DevSmith Logs: every service in one process
// (--target=all, the default) or one service per process.
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], "")) }
