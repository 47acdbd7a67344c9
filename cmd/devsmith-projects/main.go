// Command devsmith-projects runs the projects service alone, for separate
// deployments (the same as `devsmith --target=projects`).
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], platform.TargetProjects)) }
