package windowagg

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"
)

// MarshalBinary racing Advance and PollWindows on the same handle (issue 12
// #1, #3): the library used to count the state and then write it, each pass
// closing the windows of its own watermark, so a concurrent Advance made it
// write past the Go slice and a concurrent poll left trailing bytes that
// Restore refused. Every blob MarshalBinary returns must be whole.
func TestMarshalBinaryRacingAdvanceAndPoll(t *testing.T) {
	for _, mode := range []string{"advance", "poll"} {
		t.Run(mode, func(t *testing.T) {
			a, err := New(WithTumblingWindow(10), WithMaxPendingWindows(1<<26))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			const n = 4000
			vals := make([]float64, n)
			ts := make([]int64, n)
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = uint64(i)
				vals[i] = float64(i % 17)
			}
			dst := make([]Window, 4096)
			drain := func() {
				for {
					k, err := a.PollWindows(dst, nil, nil)
					if err != nil || k == 0 {
						return
					}
				}
			}
			bad := 0
			for r := 0; r < 40; r++ {
				base := int64(r) * 10
				for i := range ts {
					ts[i] = base + 1
				}
				if err := a.Push(vals, ts, keys); err != nil {
					t.Fatal(err)
				}
				if mode == "poll" {
					if err := a.Advance(base + 10); err != nil {
						t.Fatal(err)
					}
					if _, _, err := a.PendingWindows(); err != nil {
						t.Fatal(err)
					}
				}
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Land somewhere inside MarshalBinary's call.
					time.Sleep(time.Duration(r%5) * 100 * time.Microsecond)
					if mode == "poll" {
						drain()
					} else {
						_ = a.Advance(base + 10)
					}
				}()
				data, err := a.MarshalBinary()
				wg.Wait()
				if err != nil {
					t.Fatalf("round %d: MarshalBinary: %v", r, err)
				}
				if len(data) < 16 || binary.LittleEndian.Uint64(data[8:16]) != uint64(len(data)) {
					bad++
					t.Errorf("round %d: blob of %d bytes is not whole", r, len(data))
				} else if b, err := Restore(data); err != nil {
					bad++
					t.Errorf("round %d: Restore of MarshalBinary output: %v", r, err)
				} else {
					b.Close()
				}
				drain()
				if bad > 3 {
					t.FailNow()
				}
			}
		})
	}
}
