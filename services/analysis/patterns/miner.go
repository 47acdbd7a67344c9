package patterns

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/devsmith/logs/internal/logstore/signature"
)

// ID identifies a pattern. It is the FNV-64a hash of the token skeleton of the
// first line that created the pattern (its tokens after masking), salted only
// when two patterns would otherwise share it, so it never changes when later
// lines generalise the template.
type ID uint64

// String is the id as 16 lower-case hex digits.
func (id ID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// OverflowID is the pattern that holds every line arriving once the miner
// already holds MaxPatterns patterns and the line matches none of them. No
// other pattern has it (a hash that comes out 0 is salted).
const OverflowID ID = 0

// OverflowTemplate is the template of the overflow pattern.
const OverflowTemplate = "<overflow>"

// Config is the miner's one configuration; its zero value is the default
// and is meant for every project alike.
type Config struct {
	// Similarity is the share of a line's word tokens (punctuation left
	// out) that must equal a pattern's template, a <*> position and two
	// placeholders of any type counting as equal, for the pattern to be a
	// candidate for the line. Default 0.5.
	Similarity float64
	// MinVariants is how many distinct values a literal position of a
	// pattern must show before it becomes <*>. Default 3.
	MinVariants int
	// MaxPatterns bounds the live patterns of one miner, the overflow
	// pattern excluded. Default 5000.
	MaxPatterns int
}

const (
	defaultSimilarity  = 0.5
	defaultMaxPatterns = 5000
	defaultMinVariants = 3
)

func (c Config) withDefaults() Config {
	if c.Similarity <= 0 || c.Similarity > 1 {
		c.Similarity = defaultSimilarity
	}
	if c.MinVariants <= 0 {
		c.MinVariants = defaultMinVariants
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
	// values[i] holds the distinct values seen at literal position i in
	// lines similar enough to join, up to MinVariants (nil until needed).
	values [][]string
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
	// aliases maps the id of a pattern merged away to the live pattern that
	// holds its lines. At most MaxPatterns aliases are kept, the oldest
	// merge dropped first.
	aliases     map[ID]ID
	aliasOrder  []ID
	overflow    int64
	scratch     []signature.Token
	scratchToks []string
	fieldBuf    []string
	key         []byte
	cands       []*cluster
	sims        []float64
	// changes, once TrackChanges was called, records what mining did since
	// the last Changes call.
	changes *changeLog
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
	id, _ := m.Mine(message)
	return id
}

// Mine is Add that also reports whether the line founded a new pattern
// (the pattern whose id it returns).
func (m *Miner) Mine(message string) (id ID, created bool) {
	m.mu.Lock()
	defer m.mu.Unlock()

	m.scratch, m.fieldBuf = signature.Tokenise(message, m.scratch, m.fieldBuf)
	toks := m.scratchToks[:0]
	for _, t := range m.scratch {
		toks = append(toks, t.Text)
	}
	m.scratchToks = toks

	m.key = leafKey(m.key, toks)
	// A leaf exists only while it holds a cluster, so lines sent to the
	// overflow allocate nothing.
	lf := m.leaves[string(m.key)]
	var c *cluster
	var cands []*cluster
	if lf != nil {
		c, cands = m.choose(lf, toks)
	}
	if c == nil && len(m.clusters) >= m.cfg.MaxPatterns {
		// Full: the line joins its nearest pattern when one is similar
		// enough even though its variants are too few, else the overflow.
		if len(cands) == 0 {
			m.overflow++
			return OverflowID, false
		}
		c = cands[0]
	}
	if c != nil {
		c.count++
		if generalise(c, toks) {
			m.changed(c)
			c = m.absorb(c)
		}
		return c.id, false
	}
	if lf == nil {
		lf = &leaf{}
		m.leaves[string(m.key)] = lf
	}
	c = &cluster{
		seq:    m.seq,
		tokens: cloneTokens(toks),
		spaces: make([]bool, len(m.scratch)),
		count:  1,
		leaf:   lf,
	}
	for i, t := range m.scratch {
		c.spaces[i] = t.Space
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
	m.changed(c)
	return c.id, true
}

// choose returns the cluster of lf the line joins, or nil, and the clusters
// similar enough to join (most similar first) in either case.
//
// A cluster is a candidate when similarity reaches Config.Similarity. At each
// position where a candidate's template holds a literal the line does not,
// the candidate records the line's value (up to MinVariants values). The line
// joins a candidate only when every such position has seen MinVariants
// distinct values (or both tokens are placeholders of different types): a
// position that has taken a few values only is a constant of several
// patterns, one that takes many is a variable. The most similar joinable
// candidate wins; ties go to the older one.
func (m *Miner) choose(lf *leaf, toks []string) (*cluster, []*cluster) {
	m.cands = m.cands[:0]
	m.sims = m.sims[:0]
	var best *cluster
	bestSim := -1.0
	for _, c := range lf.clusters {
		s := similarity(c.tokens, toks)
		if s < m.cfg.Similarity {
			continue
		}
		m.cands = append(m.cands, c)
		m.sims = append(m.sims, s)
		joinable := true
		for i, t := range c.tokens {
			if t == toks[i] || t == signature.PlaceAny || (signature.IsPlaceholder(t) && signature.IsPlaceholder(toks[i])) {
				continue
			}
			if c.variants(i, toks[i], m.cfg.MinVariants) < m.cfg.MinVariants {
				joinable = false
			}
		}
		if joinable && s > bestSim {
			best, bestSim = c, s
		}
	}
	// Most similar first, stable on creation order (an insertion sort: a
	// leaf holds few candidates, and it allocates nothing).
	cs, ss := m.cands, m.sims
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && ss[j] > ss[j-1]; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
	return best, m.cands
}

// variants records v among the values seen at position i (the template's
// own value included) and returns how many distinct values it has seen,
// counting at most limit.
func (c *cluster) variants(i int, v string, limit int) int {
	if c.values == nil {
		c.values = make([][]string, len(c.tokens))
	}
	vs := c.values[i]
	if vs == nil {
		vs = append(vs, c.tokens[i])
	}
	if len(vs) < limit && !contains(vs, v) {
		vs = append(vs, strings.Clone(v))
	}
	c.values[i] = vs
	return len(vs)
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// absorb folds into c every other cluster of its leaf whose template is an
// instance of c's (equal wherever c holds no <*>). The survivor keeps the id
// of the oldest of them; the others' ids become aliases of it.
func (m *Miner) absorb(c *cluster) *cluster {
	for k := 0; k < len(c.leaf.clusters); k++ {
		o := c.leaf.clusters[k]
		if o == c || !instanceOf(o.tokens, c.tokens) {
			continue
		}
		c.count += o.count
		m.remove(o)
		k--
		if o.seq < c.seq {
			delete(m.clusters, c.id)
			m.alias(c.id, o.id)
			c.id, c.seq = o.id, o.seq
			m.clusters[c.id] = c
		} else {
			m.alias(o.id, c.id)
		}
	}
	// Keep the leaf in creation order: the scan order decides ties.
	sort.SliceStable(c.leaf.clusters, func(i, j int) bool { return c.leaf.clusters[i].seq < c.leaf.clusters[j].seq })
	return c
}

// instanceOf reports whether template a is an instance of template b.
func instanceOf(a, b []string) bool {
	for i, t := range b {
		if t != signature.PlaceAny && t != a[i] {
			return false
		}
	}
	return true
}

// generalise turns every position where the line differs from c's
// template into <*> and reports whether the template changed.
func generalise(c *cluster, toks []string) bool {
	changed := false
	for i, t := range c.tokens {
		if t != toks[i] && t != signature.PlaceAny {
			c.tokens[i] = signature.PlaceAny
			if c.values != nil {
				c.values[i] = nil
			}
			changed = true
		}
	}
	return changed
}

// similarity is the share of a line's word tokens (punctuation is left out:
// it is shared by most lines of a system) that equal the template's, where a
// position the template has turned into <*> and two placeholders of any type
// count as equal.
func similarity(tmpl, toks []string) float64 {
	eq, n := 0, 0
	for i, t := range tmpl {
		if signature.IsPunct(toks[i]) && signature.IsPunct(t) {
			continue
		}
		n++
		if t == toks[i] || t == signature.PlaceAny || (signature.IsPlaceholder(t) && signature.IsPlaceholder(toks[i])) {
			eq++
		}
	}
	if n == 0 {
		return 1
	}
	return float64(eq) / float64(n)
}

func (m *Miner) remove(c *cluster) {
	if m.changes != nil {
		delete(m.changes.dirty, c)
	}
	delete(m.clusters, c.id)
	cs := c.leaf.clusters
	for i, o := range cs {
		if o == c {
			c.leaf.clusters = append(cs[:i], cs[i+1:]...)
			break
		}
	}
}

// alias records that from was merged into the live pattern to. Every alias
// points at a live pattern: those that pointed at from are moved to to.
func (m *Miner) alias(from, to ID) {
	for k, v := range m.aliases {
		if v == from {
			m.aliases[k] = to
		}
	}
	m.aliases[from] = to
	if m.changes != nil {
		m.changes.merged(from, to)
	}
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
	if to, ok := m.aliases[id]; ok {
		return to
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

// leafKey appends the key of a line's leaf to dst: its token count and its
// first token (<*> when that is a placeholder).
func leafKey(dst []byte, toks []string) []byte {
	dst = strconv.AppendInt(dst[:0], int64(len(toks)), 10)
	dst = append(dst, 0)
	if len(toks) > 0 {
		if signature.IsPlaceholder(toks[0]) {
			dst = append(dst, signature.PlaceAny...)
		} else {
			dst = append(dst, toks[0]...)
		}
	}
	return dst
}

// cloneTokens copies the tokens out of the message they slice, so a
// pattern does not keep its first line alive.
func cloneTokens(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = strings.Clone(t)
	}
	return out
}

// hashTokens is the pattern id of a template's tokens: with salt 0 it is
// their signature (signature.Hash), the id a new pattern takes, so that an
// entry's signature names the pattern it founded.
func hashTokens(toks []string, salt uint64) ID {
	if salt == 0 {
		return ID(signature.Hash(toks))
	}
	h := fnv.New64a()
	for _, t := range toks {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "#%d", salt)
	return ID(h.Sum64())
}
