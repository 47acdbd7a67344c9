package patterns

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChangesReportCreationsTemplatesAndMerges(t *testing.T) {
	t.Parallel()
	m := New(Config{})
	require.Equal(t, Changes{}, m.Changes(), "nothing is recorded before TrackChanges")
	m.TrackChanges()

	alice, created := m.Mine("user alice logged in")
	require.True(t, created)
	bob, created := m.Mine("user bob logged in")
	require.True(t, created)
	_, created = m.Mine("user bob logged in")
	require.False(t, created, "a line joining its pattern founds none")
	require.Equal(t, Changes{
		Patterns: []Pattern{{ID: alice, Template: "user alice logged in", Count: 1}, {ID: bob, Template: "user bob logged in", Count: 2}},
		Merged:   map[ID]ID{},
	}, m.Changes())
	require.Equal(t, Changes{Patterns: []Pattern{}, Merged: map[ID]ID{}}, m.Changes(), "each change is reported once")

	_, created = m.Mine("user carol logged in")
	require.False(t, created)
	require.Equal(t, Changes{
		Patterns: []Pattern{{ID: alice, Template: "user <*> logged in", Count: 4}},
		Merged:   map[ID]ID{bob: alice},
	}, m.Changes())

	// A pattern created and merged away between two calls is reported as
	// merged, never as live; a chain of merges leads to the live pattern.
	x, _ := m.Mine("job 1 of queue alpha done")
	y, _ := m.Mine("job 2 of queue beta done")
	z, _ := m.Mine("job 3 of queue gamma done")
	require.Equal(t, x, z)
	ch := m.Changes()
	require.Equal(t, []Pattern{{ID: x, Template: "job <num> of queue <*> done", Count: 3}}, ch.Patterns)
	require.Equal(t, map[ID]ID{y: x}, ch.Merged)
}

func TestChangesReportOverflowAsNothing(t *testing.T) {
	t.Parallel()
	m := New(Config{MaxPatterns: 1})
	m.TrackChanges()
	_, created := m.Mine("first line")
	require.True(t, created)
	id, created := m.Mine("a line of another length entirely")
	require.Equal(t, OverflowID, id)
	require.False(t, created)
	require.Equal(t, []Pattern{{ID: m.Resolve(m.Add("first line")), Template: "first line", Count: 2}}, m.Changes().Patterns)
}

// A store that applies every Changes (live patterns by id, merged ids to
// their live pattern) stays equal to the miner: the same live patterns and
// templates, and every line's id resolves in the store to the pattern the
// miner puts it in now, however often the changes are read.
func TestChangesKeepAStoreEqualToTheMiner(t *testing.T) {
	t.Parallel()
	for _, every := range []int{1, 7, 500} {
		for _, sys := range systems {
			data := loadLogHub(t, sys.name)
			m := New(Config{})
			m.TrackChanges()
			live := map[ID]string{}
			merged := map[ID]ID{}
			apply := func() {
				ch := m.Changes()
				for from, to := range ch.Merged {
					delete(live, from)
					merged[from] = to
				}
				for k, v := range merged {
					if to, ok := ch.Merged[v]; ok {
						merged[k] = to
					}
				}
				for _, p := range ch.Patterns {
					live[p.ID] = p.Template
					delete(merged, p.ID)
				}
			}
			ids := make([]ID, len(data))
			for i, d := range data {
				ids[i] = m.Add(d.content)
				if i%every == 0 {
					apply()
				}
			}
			apply()
			want := map[ID]string{}
			for _, p := range m.Patterns() {
				want[p.ID] = p.Template
			}
			require.Equal(t, want, live, "%s, every %d", sys.name, every)
			for i, id := range ids {
				got := id
				if to, ok := merged[id]; ok {
					got = to
				}
				require.Equal(t, m.Resolve(id), got, "%s line %d", sys.name, i)
				_, isLive := live[got]
				require.True(t, isLive, "%s line %d: a merged id leads to a live pattern", sys.name, i)
			}
		}
	}
}
