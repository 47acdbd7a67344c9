// Command devsmith-query runs the query service alone, for separate
// deployments (the same as `devsmith --target=query`).
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], platform.TargetQuery)) }
