package windowagg

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// nameRegistry maps series ids to names registered on the Go side (ids that
// reach the library as numbers, e.g. through the Batcher). The library keeps
// the names of PushStrings/PushBytes keys itself (and serializes them); these
// belong to this Go handle.
type nameRegistry struct {
	mu sync.RWMutex
	m  map[uint64]string
}

func (r *nameRegistry) get(id uint64) string {
	r.mu.RLock()
	n := r.m[id]
	r.mu.RUnlock()
	return n
}

// register records name for id; an id already registered with another name
// is refused (a 64-bit hash collision, as aggregator_push_named refuses it).
func (r *nameRegistry) register(id uint64, name string) error {
	r.mu.RLock()
	old, ok := r.m[id]
	r.mu.RUnlock()
	if ok && old == name {
		return nil // the per-event path: a read lock, no allocation
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[id]; ok {
		if old == name {
			return nil
		}
		return &Error{Status: StatusInvalidArgument, Msg: "series id " + strconv.FormatUint(id, 10) +
			" is registered as " + strconv.Quote(old) + ", not " + strconv.Quote(name) + " (hash collision)"}
	}
	if r.m == nil {
		r.m = map[uint64]string{}
	}
	r.m[id] = strings.Clone(name)
	return nil
}

// RegisterName registers name for its series id HashString(name), so that
// KeyName (and the Prometheus collector) can show the name of a series whose
// values are pushed by id (Push, Batcher.Add). It returns the id. Two names
// with the same id are refused (ErrInvalidArgument). Registered names belong
// to this Go handle: MarshalBinary does not carry them (names pushed with
// PushStrings/PushBytes are kept by the library and do).
func (a *Aggregator) RegisterName(name string) (uint64, error) {
	id := HashString(name)
	return id, a.names.register(id, name)
}

// LabelSet is a series named by several labels (method, route, status, ...)
// in one key: its Name encodes the pairs as `k1="v1",k2="v2"` (label names
// sorted, values Go-quoted) and ID is HashString(Name). The Prometheus
// collector decodes the name back into labels (ParseLabels). Build one per
// distinct set, ahead of the per-event path (Batcher.Observe(ls.Name, v),
// Batcher.AddLabels).
type LabelSet struct {
	ID   uint64
	Name string
}

func validLabelName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Labels builds the LabelSet of name/value pairs kv (name1, value1, name2,
// value2, ...). Label names must match [a-zA-Z_][a-zA-Z0-9_]* and be
// distinct; the order of pairs does not matter.
func Labels(kv ...string) (LabelSet, error) {
	if len(kv) == 0 || len(kv)%2 != 0 {
		return LabelSet{}, argError("Labels: want name/value pairs, got " + strconv.Itoa(len(kv)) + " strings")
	}
	idx := make([]int, len(kv)/2)
	for i := range idx {
		idx[i] = 2 * i
		if !validLabelName(kv[2*i]) {
			return LabelSet{}, argError("Labels: label name " + strconv.Quote(kv[2*i]) + " is not [a-zA-Z_][a-zA-Z0-9_]*")
		}
	}
	sort.Slice(idx, func(a, b int) bool { return kv[idx[a]] < kv[idx[b]] })
	var b strings.Builder
	for j, i := range idx {
		if j > 0 {
			if kv[i] == kv[idx[j-1]] {
				return LabelSet{}, argError("Labels: label name " + strconv.Quote(kv[i]) + " given twice")
			}
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(kv[i+1]))
	}
	name := b.String()
	return LabelSet{ID: HashString(name), Name: name}, nil
}

// MustLabels is Labels that panics on an error (for constant sets).
func MustLabels(kv ...string) LabelSet {
	ls, err := Labels(kv...)
	if err != nil {
		panic(err)
	}
	return ls
}

var errNotLabels = errors.New("not a label set")

// ParseLabels decodes a LabelSet name (`k1="v1",k2="v2"`) into name/value
// pairs; ok is false if name is not one (a plain series name).
func ParseLabels(name string) (kv []string, ok bool) {
	kv, err := parseLabels(name)
	return kv, err == nil
}

func parseLabels(s string) ([]string, error) {
	var kv []string
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || !validLabelName(s[:eq]) || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, errNotLabels
		}
		q, err := strconv.QuotedPrefix(s[eq+1:])
		if err != nil {
			return nil, errNotLabels
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return nil, errNotLabels
		}
		kv = append(kv, s[:eq], v)
		s = s[eq+1+len(q):]
		if len(s) > 0 {
			if s[0] != ',' || len(s) == 1 {
				return nil, errNotLabels
			}
			s = s[1:]
		}
	}
	if kv == nil {
		return nil, errNotLabels
	}
	return kv, nil
}

// totalsTable keeps each series' lifetime count and sum of the values pushed
// through this Go handle (see EnableTotals).
type totalsTable struct {
	mu sync.Mutex
	m  map[uint64]*Totals
}

// Totals are a series' lifetime count and sum (EnableTotals).
type Totals struct {
	Count uint64
	Sum   float64
}

func (t *totalsTable) add(values []float64, keys []uint64, keyOf func(int) uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur *Totals
	var curKey uint64
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue // skipped by the library (SKIP policy); REJECT refuses the batch before this
		}
		k := DefaultKey
		if keys != nil {
			k = keys[i]
		} else if keyOf != nil {
			k = keyOf(i)
		}
		if cur == nil || k != curKey {
			cur = t.m[k]
			if cur == nil {
				cur = &Totals{}
				t.m[k] = cur
			}
			curKey = k
		}
		cur.Count++
		cur.Sum += v
	}
}

// EnableTotals starts keeping, per series, the lifetime count and sum of
// the finite values pushed through this handle from now on (Push,
// PushStrings, PushBytes and so the Batcher), read by LifetimeTotals. These
// are the monotonic _count/_sum of the Prometheus collector, which turns
// them on. They count observations as client_golang does: every value a
// push accepted, including values the window then leaves out as late. They
// are kept on the Go side, exactly (float64 accumulation in push order per
// series), at the cost of one map update per run of equal keys in each
// push; they are not serialized (a restored handle starts from zero: a
// counter reset). Idempotent.
func (a *Aggregator) EnableTotals() {
	a.totals.CompareAndSwap(nil, &totalsTable{m: map[uint64]*Totals{}})
}

// LifetimeTotals returns series key's totals since EnableTotals; ok is false
// if totals are off or the series has had no value since.
func (a *Aggregator) LifetimeTotals(key uint64) (t Totals, ok bool) {
	tt := a.totals.Load()
	if tt == nil {
		return Totals{}, false
	}
	tt.mu.Lock()
	p := tt.m[key]
	if p != nil {
		t, ok = *p, true
	}
	tt.mu.Unlock()
	return t, ok
}
