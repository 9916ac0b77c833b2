package main

// dedup remembers the event_id of the last max accepted events (a FIFO
// horizon) and the write-ahead log record that carried each, so that a
// retry is recognised and its answer waits until the original is durable.
// The horizon is part of the snapshot and rebuilt from the log on replay,
// so a retry after a crash or restart is recognised too.
type dedup struct {
	max  int
	seen map[string]uint64 // id -> sequence number of its log record
	ring []string          // ids in acceptance order (circular once full)
	head int               // oldest entry once len(ring) == max
}

func newDedup(max int) *dedup {
	return &dedup{max: max, seen: make(map[string]uint64)}
}

func (d *dedup) lookup(id string) (uint64, bool) {
	seq, ok := d.seen[id]
	return seq, ok
}

// add records id as carried by record seq, forgetting the oldest id when the
// horizon is full.
func (d *dedup) add(id string, seq uint64) {
	if d.max <= 0 {
		return
	}
	if _, ok := d.seen[id]; ok {
		d.seen[id] = seq
		return
	}
	if len(d.ring) < d.max {
		d.ring = append(d.ring, id)
	} else {
		delete(d.seen, d.ring[d.head])
		d.ring[d.head] = id
		d.head = (d.head + 1) % d.max
	}
	d.seen[id] = seq
}

// each calls f for every remembered id, oldest first.
func (d *dedup) each(f func(id string, seq uint64)) {
	n := len(d.ring)
	for i := 0; i < n; i++ {
		id := d.ring[(d.head+i)%n]
		f(id, d.seen[id])
	}
}

func (d *dedup) len() int { return len(d.ring) }
