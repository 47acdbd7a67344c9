package patterns

import (
	"strconv"
	"strings"
)

// drainBaseline groups lines with plain Drain (He et al., ICWS 2017) in its
// one generic setting: whitespace tokens, numbers masked, a prefix tree of
// depth 4 (token count, then the first two tokens, a token holding a digit
// going to the <*> child), at most 100 children a node, similarity 0.4. It
// returns each line's final cluster.
func drainBaseline(lines []string) []int {
	const (
		depth    = 4
		sim      = 0.4
		maxChild = 100
		wildcard = "<*>"
	)
	type dcluster struct {
		tmpl []string
		id   int
	}
	type node struct {
		children map[string]*node
		clusters []*dcluster
	}
	root := &node{children: map[string]*node{}}
	var all []*dcluster
	out := make([]int, len(lines))
	for li, line := range lines {
		toks := strings.Fields(line)
		for i, t := range toks {
			if isNumeric(t) {
				toks[i] = wildcard
			}
		}
		// Descend: token count, then up to depth-2 tokens.
		key := string(rune(len(toks)))
		n := root.children[key]
		if n == nil {
			n = &node{children: map[string]*node{}}
			root.children[key] = n
		}
		for d := 0; d < depth-2 && d < len(toks); d++ {
			t := toks[d]
			if strings.ContainsAny(t, "0123456789") {
				t = wildcard
			}
			next := n.children[t]
			if next == nil {
				if n.children[wildcard] != nil && len(n.children) >= maxChild {
					next = n.children[wildcard]
				} else {
					if len(n.children) >= maxChild {
						t = wildcard
					}
					next = n.children[t]
					if next == nil {
						next = &node{children: map[string]*node{}}
						n.children[t] = next
					}
				}
			}
			n = next
		}
		// Most similar cluster of the leaf; ties go to more wildcards.
		var best *dcluster
		bestSim, bestParams := -1.0, -1
		for _, c := range n.clusters {
			eq, params := 0, 0
			for i, t := range c.tmpl {
				if t == wildcard {
					params++
					continue
				}
				if t == toks[i] {
					eq++
				}
			}
			s := 1.0
			if len(toks) > 0 {
				s = float64(eq) / float64(len(toks))
			}
			if s > bestSim || (s == bestSim && params > bestParams) {
				best, bestSim, bestParams = c, s, params
			}
		}
		if best != nil && bestSim >= sim {
			for i, t := range best.tmpl {
				if t != toks[i] {
					best.tmpl[i] = wildcard
				}
			}
		} else {
			best = &dcluster{tmpl: toks, id: len(all)}
			all = append(all, best)
			n.clusters = append(n.clusters, best)
		}
		out[li] = best.id
	}
	return out
}

// isNumeric is Drain's usual generic masking: a token that is a number.
func isNumeric(t string) bool {
	_, err := strconv.ParseFloat(t, 64)
	return err == nil
}
