package patterns

import (
	"fmt"
	"sync"
	"testing"

	"github.com/devsmith/logs/internal/logstore/signature"
	"github.com/stretchr/testify/require"
)

func TestMinerMasksVariablesInTemplates(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	a := m.Add("connection from 10.0.0.1:5432 closed after 30ms")
	b := m.Add("connection from 10.0.0.2:6000 closed after 1.5s")
	require.Equal(t, a, b)
	tmpl, ok := m.Template(a)
	require.True(t, ok)
	require.Equal(t, "connection from <ip> closed after <duration>", tmpl)
}

func TestMinerPositionTurnsVariableAfterMinVariants(t *testing.T) {
	t.Parallel()
	m := New(Config{MinVariants: 3})
	alice := m.Add("user alice logged in")
	bob := m.Add("user bob logged in")
	require.NotEqual(t, alice, bob, "two values are constants of two patterns")
	carol := m.Add("user carol logged in")
	require.Equal(t, alice, carol, "the third value turns the position into <*>; the oldest id survives")
	require.Equal(t, alice, m.Resolve(bob), "the pattern merged away resolves to the survivor")

	tmpl, ok := m.Template(bob)
	require.True(t, ok)
	require.Equal(t, "user <*> logged in", tmpl)
	ps := m.Patterns()
	require.Len(t, ps, 1)
	require.Equal(t, Pattern{ID: alice, Template: "user <*> logged in", Count: 3}, ps[0])
	require.Equal(t, alice, m.Add("user dave logged in"))
}

func TestMinerKeepsFewValuedPositionsApart(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	on, off := m.Add("screen turned ON"), m.Add("screen turned OFF")
	for range 50 {
		require.Equal(t, on, m.Add("screen turned ON"))
		require.Equal(t, off, m.Add("screen turned OFF"))
	}
	require.NotEqual(t, on, off)
	require.Len(t, m.Patterns(), 2)
}

func TestMinerSeparatesDissimilarLines(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	a := m.Add("disk full on volume data")
	b := m.Add("disk check passed on every volume")
	c := m.Add("cache warmed in 30ms")
	require.NotEqual(t, a, b, "different token counts")
	require.NotEqual(t, a, c)
	require.Len(t, m.Patterns(), 3)
}

func TestMinerIDIsTheFirstSkeleton(t *testing.T) {
	t.Parallel()
	// The id depends on the first line's masked tokens only: a second miner
	// that sees the same first line gives the same id whatever follows.
	m1, m2 := New(Config{}), New(Config{})
	id1 := m1.Add("worker 7 started job alpha")
	var later []ID
	for _, w := range []string{"beta", "gamma", "delta"} {
		later = append(later, m1.Add("worker 9 started job "+w))
	}
	for _, id := range later {
		require.Equal(t, id1, m1.Resolve(id))
	}
	tmpl, _ := m1.Template(id1)
	require.Equal(t, "worker <num> started job <*>", tmpl)
	require.Equal(t, id1, m2.Add("worker 12 started job alpha"))
	require.Equal(t, hashTokens([]string{"worker", signature.PlaceNum, "started", "job", "alpha"}, 0), id1)
}

func TestMinerIsDeterministic(t *testing.T) {
	t.Parallel()
	lines := make([]string, 0, 800)
	for _, sys := range systems {
		for i, d := range loadLogHub(t, sys.name) {
			if i == 100 {
				break
			}
			lines = append(lines, d.content)
		}
	}
	ids1, m1 := mineAll(lines)
	ids2, m2 := mineAll(lines)
	require.Equal(t, ids1, ids2)
	require.Equal(t, m1.Patterns(), m2.Patterns())
}

func TestMinerEveryLineInExactlyOnePattern(t *testing.T) {
	t.Parallel()
	for _, sys := range systems {
		var lines []string
		for _, d := range loadLogHub(t, sys.name) {
			lines = append(lines, d.content)
		}
		ids, m := mineAll(lines)
		counts := map[ID]int64{}
		for _, id := range ids {
			counts[id]++
		}
		var total int64
		for _, p := range m.Patterns() {
			require.Equal(t, counts[p.ID], p.Count, "%s: pattern %s %q", sys.name, p.ID, p.Template)
			total += p.Count
			delete(counts, p.ID)
		}
		require.Empty(t, counts, "%s: every resolved id is a live pattern", sys.name)
		require.Equal(t, int64(len(lines)), total, sys.name)
	}
}

func TestMinerBoundedByMaxPatterns(t *testing.T) {
	t.Parallel()
	m := New(Config{MaxPatterns: 10})
	var ids []ID
	for i := range 30 {
		// Each line has its own token count: no two can share a pattern.
		msg := "event"
		for range i {
			msg += " word"
		}
		ids = append(ids, m.Add(msg))
	}
	ps := m.Patterns()
	require.Len(t, ps, 11, "10 patterns and the overflow")
	last := ps[len(ps)-1]
	require.Equal(t, Pattern{ID: OverflowID, Template: OverflowTemplate, Count: 20}, last)
	for _, id := range ids[10:] {
		require.Equal(t, OverflowID, id)
	}
	require.Len(t, m.leaves, 10, "lines sent to the overflow leave no state behind")
	tmpl, ok := m.Template(OverflowID)
	require.True(t, ok)
	require.Equal(t, OverflowTemplate, tmpl)

	// Full, a line similar to a pattern joins it even with too few variants.
	require.Equal(t, ids[3], m.Add("event word word other"))
	tmpl, _ = m.Template(ids[3])
	require.Equal(t, "event word word <*>", tmpl)
	require.Len(t, m.Patterns(), 11)
}

func TestMinerConcurrentAdds(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				m.Add(fmt.Sprintf("request %d from 10.0.0.%d took %dms", i, g, i))
			}
		}()
	}
	wg.Wait()
	ps := m.Patterns()
	require.Len(t, ps, 1)
	require.Equal(t, int64(1000), ps[0].Count)
	require.Equal(t, "request <num> from <ip> took <duration>", ps[0].Template)
}

func TestTemplateOfUnknownID(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	_, ok := m.Template(ID(42))
	require.False(t, ok)
	_, ok = m.Template(OverflowID)
	require.False(t, ok, "no overflow before the bound is reached")
	require.Equal(t, ID(42), m.Resolve(42))
}

func TestMinerEmptyAndBlankMessages(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	a := m.Add("")
	require.Equal(t, a, m.Add("   \t "))
	tmpl, ok := m.Template(a)
	require.True(t, ok)
	require.Equal(t, "", tmpl)
	require.NotEqual(t, a, m.Add("something"))
	require.Len(t, m.Patterns(), 2)
}

func TestTemplateRendersSpacing(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	id := m.Add("pam_unix(sshd:auth): check pass; user unknown")
	tmpl, ok := m.Template(id)
	require.True(t, ok)
	require.Equal(t, "pam_unix(sshd:auth): check pass; user unknown", tmpl)
}
