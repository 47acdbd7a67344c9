package patterns

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// syntheticTemplates are messages of web, database, queue, auth and cache
// services; each {kind} is replaced by a random variable of that kind.
var syntheticTemplates = []string{
	`GET {path} HTTP/1.1 200 {num} bytes in {dur}`,
	`POST {path} from {ip} returned 500 after {dur}`,
	`request_id={uuid} method=GET path={path} status={num} latency={dur}`,
	`upstream {ip} timed out after {dur} while reading response header`,
	`fetching {url} failed: connection refused`,
	`slow query took {dur}: {quoted}`,
	`connection pool exhausted: {num} active, {num} idle, waiting {dur}`,
	`deadlock detected on relation {num} of database {num}, retrying transaction {hex}`,
	`checkpoint complete: wrote {num} buffers ({num}%) in {dur}`,
	`replica {ip} lag is {num} bytes`,
	`consumer {word} joined group {word} with generation {num}`,
	`message {uuid} moved to dead letter queue after {num} attempts`,
	`published {num} messages to topic {word} partition {num} offset {num}`,
	`queue depth {num} exceeds limit {num} on broker {ip}`,
	`user {email} logged in from {ip}`,
	`failed login for user {word} from {ip}: invalid password`,
	`token {hex} expired at {time}`,
	`session {uuid} revoked by admin {email}`,
	`password reset requested for {email} at {time}`,
	`rate limit exceeded for key={hex} client={ip} window={dur}`,
	// Pairs that differ in one constant word only.
	`cache hit for key {hex} in {dur}`,
	`cache miss for key {hex} in {dur}`,
	`worker {num} state changed to RUNNING`,
	`worker {num} state changed to STOPPED`,
	`heap usage {num} MB of {num} MB`,
}

var syntheticWords = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"orders", "billing", "search", "audit", "mallory", "trent", "peggy", "victor", "walter", "olivia"}

func syntheticVar(r *rand.Rand, kind string) string {
	switch kind {
	case "num":
		return fmt.Sprint(r.IntN(100000))
	case "dur":
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("%dms", r.IntN(999)+1)
		case 1:
			return fmt.Sprintf("%.1fs", r.Float64()*30)
		default:
			return fmt.Sprintf("%dm%ds", r.IntN(59)+1, r.IntN(59))
		}
	case "ip":
		if r.IntN(4) == 0 {
			return fmt.Sprintf("2001:db8::%x:%x", r.IntN(65535), r.IntN(65535))
		}
		ip := fmt.Sprintf("%d.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		if r.IntN(2) == 0 {
			ip += fmt.Sprintf(":%d", r.IntN(65535))
		}
		return ip
	case "uuid":
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.Uint64()&0xffffffffffff)
	case "hex":
		if r.IntN(2) == 0 {
			return fmt.Sprintf("0x%x", r.Uint32())
		}
		return fmt.Sprintf("%016x", r.Uint64()|1<<60)
	case "path":
		parts := make([]string, r.IntN(4)+1)
		for i := range parts {
			parts[i] = syntheticWords[r.IntN(len(syntheticWords))]
			if r.IntN(3) == 0 {
				parts[i] += fmt.Sprint(r.IntN(1000))
			}
		}
		return "/" + strings.Join(parts, "/")
	case "url":
		return fmt.Sprintf("https://%s.example.com/api/v%d/%s?id=%d", syntheticWords[r.IntN(len(syntheticWords))], r.IntN(3)+1, syntheticWords[r.IntN(len(syntheticWords))], r.IntN(1e6))
	case "email":
		return fmt.Sprintf("%s.%d@example.org", syntheticWords[r.IntN(len(syntheticWords))], r.IntN(100))
	case "time":
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02dZ", r.IntN(12)+1, r.IntN(28)+1, r.IntN(24), r.IntN(60), r.IntN(60))
	case "quoted":
		n := r.IntN(5) + 1
		ws := make([]string, n)
		for i := range ws {
			ws[i] = syntheticWords[r.IntN(len(syntheticWords))]
		}
		return `"SELECT * FROM ` + strings.Join(ws, " ") + `"`
	case "word":
		return syntheticWords[r.IntN(len(syntheticWords))]
	}
	panic("unknown kind " + kind)
}

// synthetic returns n shuffled lines drawn from syntheticTemplates and each
// line's template index as its true group.
func synthetic(r *rand.Rand, n int) (lines, truth []string) {
	for i := 0; i < n; i++ {
		k := r.IntN(len(syntheticTemplates))
		tmpl := syntheticTemplates[k]
		var b strings.Builder
		for {
			open := strings.IndexByte(tmpl, '{')
			if open < 0 {
				b.WriteString(tmpl)
				break
			}
			end := strings.IndexByte(tmpl, '}')
			b.WriteString(tmpl[:open])
			b.WriteString(syntheticVar(r, tmpl[open+1:end]))
			tmpl = tmpl[end+1:]
		}
		lines = append(lines, b.String())
		truth = append(truth, fmt.Sprint(k))
	}
	return lines, truth
}
