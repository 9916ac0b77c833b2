package main

// The write-ahead log of /ingest: every accepted request is appended here and
// fsync'd before it is acknowledged, replayed on start after the snapshot,
// and dropped segment by segment once a snapshot covers it.
//
// Why not a WAL library: github.com/tidwall/wal (the obvious candidate, on
// the Go proxy) frames entries as length + data without a checksum, refuses
// to open a log whose last entry was torn by a crash (ErrCorrupt, with no
// repair call), and fsyncs under its log lock. What is needed here is small:
// one append-only file per segment, records framed as
//
//	u32 length | u32 CRC-32C of body | body = u64 sequence number | payload
//
// (little endian), group commit (one fsync covers every record written
// before it, whoever asked), and on replay a torn or corrupt tail of the last
// segment is cut off (it was never acknowledged: acknowledgement waits for
// the fsync that covers it). A bad record anywhere else is corruption, and
// the service refuses to start.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const (
	walExt       = ".wal"
	walHeader    = 8
	walMaxRecord = 256 << 20
)

var errWALClosed = errors.New("write-ahead log is closed")

type walLog struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex // guards f, first, last, err, closed, buf
	f      *os.File
	first  uint64 // first sequence number of the current segment
	last   uint64 // last sequence number appended
	err    error  // sticky: after a failed write or fsync nothing is acknowledged
	closed bool
	buf    []byte

	syncMu sync.Mutex // one fsync at a time: the group commit
	synced atomic.Uint64
}

type walSegment struct {
	first uint64
	path  string
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, walExt) }

func listSegments(dir string) ([]walSegment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []walSegment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, walExt) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, walExt), 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, walSegment{n, filepath.Join(dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openWAL replays the records of dir with a sequence number above after, in
// order, through apply, then opens a new segment for appending. It returns
// the number of records replayed.
func openWAL(dir string, after uint64, log *slog.Logger, apply func(seq uint64, payload []byte) error) (*walLog, int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, 0, err
	}
	last := after
	prev := uint64(0)
	replayed := 0
	for i, sg := range segs {
		data, err := os.ReadFile(sg.path)
		if err != nil {
			return nil, 0, err
		}
		off := 0
		for off < len(data) {
			bad := ""
			var seq uint64
			var body []byte
			switch {
			case len(data)-off < walHeader:
				bad = "truncated record header"
			default:
				n := binary.LittleEndian.Uint32(data[off:])
				if n < 8 || n > walMaxRecord || uint64(len(data)-off-walHeader) < uint64(n) {
					bad = "truncated or oversized record"
					break
				}
				body = data[off+walHeader : off+walHeader+int(n)]
				if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[off+4:]) {
					bad = "checksum mismatch"
					break
				}
				seq = binary.LittleEndian.Uint64(body)
				if prev != 0 && seq != prev+1 {
					return nil, 0, fmt.Errorf("write-ahead log %s: record at offset %d has sequence %d after %d: the log is corrupt; refusing to start",
						sg.path, off, seq, prev)
				}
			}
			if bad != "" {
				if i != len(segs)-1 {
					return nil, 0, fmt.Errorf("write-ahead log %s: %s at offset %d of a segment that is not the last: the log is corrupt; refusing to start",
						sg.path, bad, off)
				}
				// The torn tail of the last segment: never acknowledged.
				log.Warn("write-ahead log: cutting a torn tail (never acknowledged)", "segment", sg.path,
					"offset", off, "bytes", len(data)-off, "reason", bad)
				if err := os.Truncate(sg.path, int64(off)); err != nil {
					return nil, 0, err
				}
				break
			}
			prev = seq
			if seq > after {
				if seq != last+1 {
					return nil, 0, fmt.Errorf("write-ahead log %s: record %d follows %d: records are missing; refusing to start",
						sg.path, seq, last)
				}
				if err := apply(seq, body[8:]); err != nil {
					return nil, 0, fmt.Errorf("write-ahead log %s: replaying record %d: %w", sg.path, seq, err)
				}
				last = seq
				replayed++
			}
			off += walHeader + len(body)
		}
	}
	w := &walLog{dir: dir, log: log, first: last + 1, last: last}
	f, err := os.OpenFile(filepath.Join(dir, segmentName(last+1)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, 0, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, 0, err
	}
	w.f = f
	w.synced.Store(last)
	return w, replayed, nil
}

// append writes one record (not yet durable: see waitDurable) and returns
// its sequence number.
func (w *walLog) append(payload []byte) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errWALClosed
	}
	seq := w.last + 1
	n := 8 + len(payload)
	w.buf = append(w.buf[:0], make([]byte, walHeader+8)...)
	binary.LittleEndian.PutUint32(w.buf[0:], uint32(n))
	binary.LittleEndian.PutUint64(w.buf[walHeader:], seq)
	w.buf = append(w.buf, payload...)
	binary.LittleEndian.PutUint32(w.buf[4:], crc32.Checksum(w.buf[walHeader:], crcTable))
	if _, err := w.f.Write(w.buf); err != nil {
		w.err = fmt.Errorf("write-ahead log: %w", err)
		return 0, w.err
	}
	w.last = seq
	if cap(w.buf) > 1<<20 {
		w.buf = nil
	}
	return seq, nil
}

// waitDurable returns once record seq is on disk. The fsync it may run
// covers every record written so far, so concurrent requests share it.
func (w *walLog) waitDurable(seq uint64) error {
	if w.synced.Load() >= seq {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced.Load() >= seq {
		return nil
	}
	w.mu.Lock()
	f, last, err := w.f, w.last, w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		w.mu.Lock()
		w.err = fmt.Errorf("write-ahead log fsync: %w", err)
		w.mu.Unlock()
		return err
	}
	w.synced.Store(last)
	return nil
}

// lastSeq returns the sequence number of the last record appended.
func (w *walLog) lastSeq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// rotate makes the current segment durable and starts a new one at the next
// sequence number. The caller holds the ingest lock, so the new segment holds
// exactly the records after the snapshot being taken. It returns that first
// sequence number: segments before it can go once the snapshot is durable.
func (w *walLog) rotate() (uint64, error) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errWALClosed
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("write-ahead log fsync: %w", err)
		return 0, w.err
	}
	w.synced.Store(w.last)
	if w.first == w.last+1 {
		return w.first, nil // current segment is empty: keep it
	}
	f, err := os.OpenFile(filepath.Join(w.dir, segmentName(w.last+1)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		w.err = fmt.Errorf("write-ahead log: %w", err)
		return 0, w.err
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		w.err = fmt.Errorf("write-ahead log: %w", err)
		return 0, w.err
	}
	w.f.Close()
	w.f = f
	w.first = w.last + 1
	return w.first, nil
}

// removeBefore deletes the segments whose records all precede first.
func (w *walLog) removeBefore(first uint64) error {
	segs, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	for _, sg := range segs {
		if sg.first < first {
			if err := os.Remove(sg.path); err != nil {
				return err
			}
		}
	}
	return syncDir(w.dir)
}

// close makes everything durable and refuses later appends.
func (w *walLog) close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Sync()
	if err == nil {
		w.synced.Store(w.last)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}
