package patterns

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
)

// ID identifies a pattern. It is the FNV-64a hash of the token skeleton of the
// first line that created the pattern (its tokens after masking), salted only
// when two patterns would otherwise share it, so it never changes when later
// lines generalise the template.
type ID uint64

// String is the id as 16 lower-case hex digits.
func (id ID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// OverflowID is the pattern that holds every line arriving once the miner
// already holds MaxPatterns patterns and the line matches none of them.
var OverflowID = hashTokens([]string{"<overflow>"}, 0)

// OverflowTemplate is the template of the overflow pattern.
const OverflowTemplate = "<overflow>"

// Config is the miner's one configuration; its zero value is the default
// and is meant for every project alike.
type Config struct {
	// Similarity is the share of a line's tokens that must equal a pattern's
	// template (a generalised <*> position counts as equal) for the line to
	// join it. Default 0.5.
	Similarity float64
	// MaxPatterns bounds the live patterns of one miner, the overflow
	// pattern excluded. Default 5000.
	MaxPatterns int
}

const (
	defaultSimilarity  = 0.5
	defaultMaxPatterns = 5000
)

func (c Config) withDefaults() Config {
	if c.Similarity <= 0 || c.Similarity > 1 {
		c.Similarity = defaultSimilarity
	}
	if c.MaxPatterns <= 0 {
		c.MaxPatterns = defaultMaxPatterns
	}
	return c
}

// Pattern is one group of lines.
type Pattern struct {
	ID       ID
	Template string
	Count    int64
}

type cluster struct {
	id     ID
	seq    int // creation order: the older cluster survives a merge
	tokens []string
	spaces []bool // spaces[i]: a space precedes tokens[i] in the template's rendering
	count  int64
	leaf   *leaf
}

// leaf holds the clusters of one token count and first token, in creation
// order (the scan order, which keeps the miner deterministic).
type leaf struct {
	clusters []*cluster
}

// Miner groups log messages into patterns as they stream in. It is safe for
// concurrent use; lines added concurrently are mined in the order the lock
// admits them.
type Miner struct {
	mu       sync.Mutex
	cfg      Config
	leaves   map[string]*leaf
	clusters map[ID]*cluster
	seq      int
	// aliases maps the id of a pattern merged away to the id it merged into
	// (possibly itself merged later: resolve follows the chain). At most
	// MaxPatterns aliases are kept, oldest dropped first.
	aliases     map[ID]ID
	aliasOrder  []ID
	overflow    int64
	scratch     []token
	scratchToks []string
}

// New returns an empty miner.
func New(cfg Config) *Miner {
	return &Miner{
		cfg:      cfg.withDefaults(),
		leaves:   make(map[string]*leaf),
		clusters: make(map[ID]*cluster),
		aliases:  make(map[ID]ID),
	}
}

// Add mines one message and returns the id of the pattern it belongs to now.
// A later merge may fold that pattern into an older one: Resolve maps the id
// returned here to the pattern that holds the line at any later time.
func (m *Miner) Add(message string) ID {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.scratch = tokenise(message, m.scratch)
	toks := m.scratchToks[:0]
	for _, t := range m.scratch {
		toks = append(toks, t.text)
	}
	m.scratchToks = toks

	key := leafKey(toks)
	lf := m.leaves[key]
	if lf == nil {
		lf = &leaf{}
		m.leaves[key] = lf
	}
	if c := m.best(lf, toks); c != nil {
		c.count++
		if generalise(c.tokens, toks) {
			if into := m.mergeEqual(c); into != nil {
				return into.id
			}
		}
		return c.id
	}
	if len(m.clusters) >= m.cfg.MaxPatterns {
		m.overflow++
		return OverflowID
	}
	c := &cluster{
		seq:    m.seq,
		tokens: append([]string(nil), toks...),
		spaces: make([]bool, len(m.scratch)),
		count:  1,
		leaf:   lf,
	}
	for i, t := range m.scratch {
		c.spaces[i] = t.space
	}
	m.seq++
	for salt := uint64(0); ; salt++ {
		id := hashTokens(c.tokens, salt)
		if _, taken := m.clusters[id]; taken || id == OverflowID {
			continue
		}
		if _, taken := m.aliases[id]; taken {
			continue
		}
		c.id = id
		break
	}
	m.clusters[c.id] = c
	lf.clusters = append(lf.clusters, c)
	return c.id
}

// best returns the cluster of lf the line joins, or nil. The most similar
// cluster wins; ties go to the older cluster.
func (m *Miner) best(lf *leaf, toks []string) *cluster {
	var best *cluster
	bestSim := -1.0
	for _, c := range lf.clusters {
		s := similarity(c.tokens, toks)
		if s > bestSim {
			best, bestSim = c, s
		}
	}
	if best == nil || bestSim < m.cfg.Similarity {
		return nil
	}
	return best
}

// similarity is the share of positions where the line's token equals the
// template's or the template has turned the position into <*>.
func similarity(tmpl, toks []string) float64 {
	if len(toks) == 0 {
		return 1
	}
	eq := 0
	for i, t := range tmpl {
		if t == toks[i] || t == PlaceAny {
			eq++
		}
	}
	return float64(eq) / float64(len(toks))
}

// generalise turns every position where the line differs from the template
// into <*> and reports whether the template changed.
func generalise(tmpl, toks []string) bool {
	changed := false
	for i, t := range tmpl {
		if t != toks[i] && t != PlaceAny {
			tmpl[i] = PlaceAny
			changed = true
		}
	}
	return changed
}

// mergeEqual folds c into the oldest other cluster of its leaf whose template
// now equals c's, or that cluster into c when c is older. It returns the
// survivor, or nil when no template equals c's.
func (m *Miner) mergeEqual(c *cluster) *cluster {
	for _, o := range c.leaf.clusters {
		if o == c || !equalTokens(o.tokens, c.tokens) {
			continue
		}
		keep, drop := o, c
		if c.seq < o.seq {
			keep, drop = c, o
		}
		keep.count += drop.count
		m.remove(drop)
		m.alias(drop.id, keep.id)
		return keep
	}
	return nil
}

func (m *Miner) remove(c *cluster) {
	delete(m.clusters, c.id)
	cs := c.leaf.clusters
	for i, o := range cs {
		if o == c {
			c.leaf.clusters = append(cs[:i], cs[i+1:]...)
			break
		}
	}
}

func (m *Miner) alias(from, to ID) {
	m.aliases[from] = to
	m.aliasOrder = append(m.aliasOrder, from)
	for len(m.aliasOrder) > m.cfg.MaxPatterns {
		delete(m.aliases, m.aliasOrder[0])
		m.aliasOrder = m.aliasOrder[1:]
	}
}

// Resolve returns the id of the live pattern that holds the lines once given
// id, following merges. An id the miner does not know is returned unchanged.
func (m *Miner) Resolve(id ID) ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resolve(id)
}

func (m *Miner) resolve(id ID) ID {
	for range len(m.aliases) + 1 {
		to, ok := m.aliases[id]
		if !ok {
			return id
		}
		id = to
	}
	return id
}

// Template returns the current template of the pattern id resolves to, and
// false when no live pattern has it.
func (m *Miner) Template(id ID) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id = m.resolve(id)
	if id == OverflowID && m.overflow > 0 {
		return OverflowTemplate, true
	}
	c, ok := m.clusters[id]
	if !ok {
		return "", false
	}
	return render(c), true
}

// Patterns returns the live patterns, most frequent first (ties: oldest
// first), with the overflow pattern when it holds lines.
func (m *Miner) Patterns() []Pattern {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := make([]*cluster, 0, len(m.clusters))
	for _, c := range m.clusters {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].count != cs[j].count {
			return cs[i].count > cs[j].count
		}
		return cs[i].seq < cs[j].seq
	})
	out := make([]Pattern, 0, len(cs)+1)
	for _, c := range cs {
		out = append(out, Pattern{ID: c.id, Template: render(c), Count: c.count})
	}
	if m.overflow > 0 {
		out = append(out, Pattern{ID: OverflowID, Template: OverflowTemplate, Count: m.overflow})
	}
	return out
}

func render(c *cluster) string {
	var b strings.Builder
	for i, t := range c.tokens {
		if i > 0 && c.spaces[i] {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

func leafKey(toks []string) string {
	first := ""
	if len(toks) > 0 {
		first = toks[0]
	}
	return fmt.Sprintf("%d\x00%s", len(toks), first)
}

func equalTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hashTokens(toks []string, salt uint64) ID {
	h := fnv.New64a()
	for _, t := range toks {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	if salt > 0 {
		fmt.Fprintf(h, "#%d", salt)
	}
	return ID(h.Sum64())
}
