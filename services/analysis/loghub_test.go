package analysis

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/services/analysis/patterns"
)

var logHubSystems = []string{"Apache", "HDFS", "Hadoop", "HealthApp", "OpenSSH", "Spark", "Windows", "Zookeeper"}

// logHubLines reads the Content and EventId columns of a LogHub-2k system
// (the miner's test data).
func logHubLines(t testing.TB, system string) (lines, events []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("patterns", "testdata", "loghub-2k", system+"_2k.log_structured.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	content, event := slices.Index(rows[0], "Content"), slices.Index(rows[0], "EventId")
	require.GreaterOrEqual(t, content, 0)
	require.GreaterOrEqual(t, event, 0)
	for _, r := range rows[1:] {
		lines, events = append(lines, r[content]), append(events, r[event])
	}
	return lines, events
}

// samePartition reports the share of lines whose group under a holds
// exactly the lines of their group under b (LogPAI's grouping accuracy).
func samePartition[A, B comparable](a []A, b []B) float64 {
	byA, byB := map[A][]int{}, map[B][]int{}
	for i := range a {
		byA[a[i]] = append(byA[a[i]], i)
		byB[b[i]] = append(byB[b[i]], i)
	}
	ok := 0
	for i := range a {
		if slices.Equal(byA[a[i]], byB[b[i]]) {
			ok++
		}
	}
	return float64(ok) / float64(len(a))
}

// The service, mining LogHub through the database with a restart half-way,
// groups every entry exactly as the miner does in memory given the
// signatures in the service's order (each commit's new signatures in
// signature order): the persistence (rows, merges, replay) loses nothing.
// The grouping accuracy against LogHub's labels is logged.
func TestMiningThroughTheDatabaseGroupsAsTheMiner(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	stop := run(t, newService(t, pool, testConfig()))
	ctx := context.Background()
	type system struct {
		lines, events []string
		sigs          []int64
		reference     *patterns.Miner
		refIDs        map[int64]patterns.ID
	}
	systems := make([]*system, len(logHubSystems))
	// Two rounds, a restart between them: each system's first half, then
	// its second half.
	for round := range 2 {
		if round == 1 {
			stop()
			stop = run(t, newService(t, pool, testConfig()))
		}
		for i, name := range logHubSystems {
			project := int64(i + 1)
			if round == 0 {
				lines, events := logHubLines(t, name)
				systems[i] = &system{lines: lines, events: events, reference: patterns.New(patterns.Config{}), refIDs: map[int64]patterns.ID{}}
			}
			sys := systems[i]
			half := sys.lines[:len(sys.lines)/2]
			if round == 1 {
				half = sys.lines[len(sys.lines)/2:]
			}
			sigs := write(t, pool, project, half...)
			sys.sigs = append(sys.sigs, sigs...)
			// The reference mines the commit's new signatures in signature
			// order, each with its first message.
			first := map[int64]string{}
			for j, s := range sigs {
				if _, seen := sys.refIDs[s]; !seen {
					if _, ok := first[s]; !ok {
						first[s] = half[j]
					}
				}
			}
			news := make([]int64, 0, len(first))
			for s := range first {
				news = append(news, s)
			}
			slices.Sort(news)
			for _, s := range news {
				sys.refIDs[s] = sys.reference.Add(first[s])
			}
		}
		for i, sys := range systems {
			mined(t, pool, int64(i+1), 30*time.Second, sys.sigs...)
		}
	}
	sum := 0.0
	for i, sys := range systems {
		project := int64(i + 1)
		entries := readEntries(t, pool, project)
		require.NoError(t, logstore.ResolvePatterns(ctx, pool, entries))
		byMessageSig := map[int64]int64{}
		for _, e := range entries {
			byMessageSig[e.Signature] = e.Pattern
		}
		got := make([]int64, len(sys.lines))
		want := make([]patterns.ID, len(sys.lines))
		for j, s := range sys.sigs {
			got[j] = byMessageSig[s]
			want[j] = sys.reference.Resolve(sys.refIDs[s])
			require.Equal(t, int64(want[j]), got[j], "%s line %d: the service's pattern is the miner's", logHubSystems[i], j)
		}
		require.InDelta(t, 1.0, samePartition(got, want), 1e-9)
		ga := samePartition(got, sys.events)
		sum += ga
		t.Logf("%-10s GA %.4f through the database (%d signatures)", logHubSystems[i], ga, len(sys.refIDs))
		requireConsistent(t, pool, project)
	}
	t.Logf("average GA %.4f", sum/float64(len(systems)))
}
