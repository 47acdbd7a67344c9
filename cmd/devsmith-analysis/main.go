// Command devsmith-analysis runs the analysis service alone, for separate
// deployments (the same as `devsmith --target=analysis`): AnalyzeLogs, and
// the pattern miner (one replica per database mines; see
// services/analysis/README.md).
package main

import (
	"os"

	"github.com/devsmith/logs/internal/platform"
)

func main() { os.Exit(platform.Main(os.Args[1:], platform.TargetAnalysis)) }
