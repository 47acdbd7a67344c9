// Command devsmith-gateway runs the gateway service alone, for separate
// deployments (the same as `devsmith --target=gateway`).
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], platform.TargetGateway)) }
