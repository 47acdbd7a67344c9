// Command devsmith-ingestion runs the ingestion service alone, for separate
// deployments (the same as `devsmith --target=ingestion`).
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], platform.TargetIngestion)) }
