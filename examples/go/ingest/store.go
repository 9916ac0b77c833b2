package main

// Durable state of /ingest: the snapshot file (library state + event_id
// horizon + the log position it covers) and the records of the write-ahead
// log (one per accepted request).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// snapMagic starts a snapshot file. A file without it is a snapshot of an
// earlier version of this service: the library state alone.
var snapMagic = []byte("WAINGEST")

const snapVersion = 1

// walEvent is one accepted event as the log stores it.
type walEvent struct {
	ts     int64
	value  float64
	series string
	id     string // "" when the event had no event_id
}

// encodeRecord appends the log payload of evs to dst:
// u32 count, then per event i64 ts | f64 value | u16 len | series | u16 len | id.
func encodeRecord(dst []byte, evs []walEvent) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(evs)))
	for _, e := range evs {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.ts))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.value))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(e.series)))
		dst = append(dst, e.series...)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(e.id)))
		dst = append(dst, e.id...)
	}
	return dst
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("truncated")
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}
func (r *reader) u16() int {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(p))
}
func (r *reader) u32() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}
func (r *reader) u64() uint64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}
func (r *reader) str(n int) string { return string(r.take(n)) }

func decodeRecord(p []byte) ([]walEvent, error) {
	r := &reader{b: p}
	n := int(r.u32())
	if r.err != nil || n > len(p) {
		return nil, errors.New("bad record header")
	}
	evs := make([]walEvent, 0, n)
	for i := 0; i < n; i++ {
		var e walEvent
		e.ts = int64(r.u64())
		e.value = math.Float64frombits(r.u64())
		e.series = r.str(r.u16())
		e.id = r.str(r.u16())
		if r.err != nil {
			return nil, fmt.Errorf("event %d: %v", i, r.err)
		}
		evs = append(evs, e)
	}
	if len(r.b) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return evs, nil
}

// applyRecord pushes a replayed record and remembers its event ids.
func (s *server) applyRecord(seq uint64, payload []byte) error {
	evs, err := decodeRecord(payload)
	if err != nil {
		return err
	}
	vals := make([]float64, len(evs))
	ts := make([]int64, len(evs))
	keys := make([]string, len(evs))
	for i, e := range evs {
		vals[i], ts[i], keys[i] = e.value, e.ts, e.series
	}
	if err := s.agg.PushStrings(vals, ts, keys); err != nil {
		return err
	}
	for _, e := range evs {
		if e.id != "" {
			s.dd.add(e.id, seq)
		}
	}
	return nil
}

// encodeSnapshot: magic | u32 version | u64 log position | u32 ids |
// (u16 len | id | u64 seq)* | u64 len | library state | u32 CRC-32C of all before.
func encodeSnapshot(seq uint64, dd *dedup, blob []byte) []byte {
	b := append([]byte(nil), snapMagic...)
	b = binary.LittleEndian.AppendUint32(b, snapVersion)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, uint32(dd.len()))
	dd.each(func(id string, s uint64) {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(id)))
		b = append(b, id...)
		b = binary.LittleEndian.AppendUint64(b, s)
	})
	b = binary.LittleEndian.AppendUint64(b, uint64(len(blob)))
	b = append(b, blob...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

type snapshotFile struct {
	seq  uint64
	ids  []string
	seqs []uint64
	blob []byte
}

func decodeSnapshot(data []byte) (*snapshotFile, error) {
	if !bytes.HasPrefix(data, snapMagic) {
		return &snapshotFile{blob: data}, nil // an earlier version's file: library state only
	}
	if len(data) < len(snapMagic)+4 {
		return nil, errors.New("truncated")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errors.New("checksum mismatch (the file is damaged)")
	}
	r := &reader{b: body[len(snapMagic):]}
	if v := r.u32(); v != snapVersion {
		return nil, fmt.Errorf("unknown snapshot version %d", v)
	}
	f := &snapshotFile{seq: r.u64()}
	n := int(r.u32())
	for i := 0; i < n && r.err == nil; i++ {
		f.ids = append(f.ids, r.str(r.u16()))
		f.seqs = append(f.seqs, r.u64())
	}
	f.blob = r.take(int(r.u64()))
	if r.err != nil || len(r.b) != 0 {
		return nil, errors.New("malformed envelope")
	}
	return f, nil
}

// configDiff names the settings where the restored state differs from the
// flags, as "-flag snapshot vs flags" items.
func configDiff(snap, want windowagg.Config) []string {
	var d []string
	add := func(flag string, a, b any) { d = append(d, fmt.Sprintf("%s: snapshot %v, flags %v", flag, a, b)) }
	if snap.Window != want.Window {
		add("window kind", snap.Window, want.Window)
	}
	if snap.Size != want.Size {
		add("-window", time.Duration(snap.Size), time.Duration(want.Size))
	}
	if snap.PaneWidth != want.PaneWidth {
		add("-pane", snap.PaneWidth, want.PaneWidth)
	}
	if snap.AllowedLateness != want.AllowedLateness {
		add("-lateness", snap.AllowedLateness, want.AllowedLateness)
	}
	if snap.RelativeAccuracy != want.RelativeAccuracy {
		add("-alpha", snap.RelativeAccuracy, want.RelativeAccuracy)
	}
	if snap.MaxKeys != want.MaxKeys || snap.KeyPolicy != want.KeyPolicy {
		add("-max-keys", snap.MaxKeys, want.MaxKeys)
	}
	if snap.KeyTTL != want.KeyTTL {
		add("-key-ttl", snap.KeyTTL, want.KeyTTL)
	}
	if snap.Quantiles != want.Quantiles || snap.SkipNonFinite != want.SkipNonFinite ||
		snap.MemoryLimit != want.MemoryLimit || snap.Slide != want.Slide {
		add("other settings", fmt.Sprintf("%+v", snap), fmt.Sprintf("%+v", want))
	}
	return d
}

// restore loads the snapshot at path (if any) into s.agg and s.dd and
// returns the log position it covers. Anything it cannot restore is an
// error: starting empty would overwrite the good snapshot at the next
// shutdown.
func (s *server) restore(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Info("no snapshot yet, starting empty", "path", path)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read snapshot %s: %w; refusing to start", path, err)
	}
	f, err := decodeSnapshot(data)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s cannot be read: %v; refusing to start (move it away to start empty)", path, err)
	}
	want, err := s.agg.Config()
	if err != nil {
		return 0, err
	}
	restored, err := windowagg.Restore(f.blob)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s cannot be restored: %w; refusing to start rather than start empty and overwrite it "+
			"(move it away to start empty, or run a build that can restore it)", path, err)
	}
	got, err := restored.Config()
	if err != nil {
		restored.Close()
		return 0, err
	}
	restored.Close()
	if d := configDiff(got, want); len(d) > 0 {
		return 0, fmt.Errorf("snapshot %s was written with other settings than the flags give (%s); refusing to start: "+
			"restart with the snapshot's settings, or move the snapshot and its write-ahead log (%s) away to start empty with the new ones",
			path, strings.Join(d, "; "), walDir(path))
	}
	if err := s.agg.UnmarshalBinary(f.blob); err != nil {
		return 0, fmt.Errorf("snapshot %s cannot be restored: %w; refusing to start", path, err)
	}
	for i, id := range f.ids {
		s.dd.add(id, f.seqs[i])
	}
	n, _ := s.agg.KeyCount()
	s.log.Info("snapshot restored", "path", path, "bytes", len(data), "series", n, "event_ids", len(f.ids), "log_position", f.seq)
	return f.seq, nil
}

func walDir(snapshot string) string { return snapshot + ".wal" }

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(path))
}

// snapshot writes the state to path and drops the log segments it covers.
// The state, the id horizon and the log position are taken together under
// the ingest lock. A state that does not restore is not written: the old
// snapshot and the log (which still holds everything since) stay.
func (s *server) snapshot(path string) error {
	s.mu.Lock()
	blob, err := s.agg.MarshalBinary()
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("snapshot: %w", err)
	}
	var seq, first uint64
	if s.wal != nil {
		seq = s.wal.lastSeq()
		if first, err = s.wal.rotate(); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	data := encodeSnapshot(seq, s.dd, blob)
	s.mu.Unlock()

	if chk, err := windowagg.Restore(blob); err != nil {
		return fmt.Errorf("snapshot: the state does not restore (%w); kept the previous snapshot and the write-ahead log", err)
	} else {
		chk.Close()
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if s.wal != nil {
		if err := s.wal.removeBefore(first); err != nil {
			return fmt.Errorf("snapshot written, but old log segments not removed: %w", err)
		}
	}
	s.log.Info("snapshot written", "path", path, "bytes", len(data), "log_position", seq)
	return nil
}
