package windowagg

// Format-v1 golden files (tests/golden/*.wagg, made once by
// tests/golden/make_golden.c): restore each through the Go binding and check
// golden.json's expectations (count, min, max, bounds, counters exact; sum,
// mean, variance, stddev to 1e-12 relative; quantiles exact), that
// MarshalBinary gives the same bytes back, and that damaged copies are
// refused with ErrCorrupt / ErrVersion.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const goldenDir = "../../tests/golden"

type goldenStats struct {
	Count       uint64 `json:"count"`
	Sum         string `json:"sum"`
	Mean        string `json:"mean"`
	Min         string `json:"min"`
	Max         string `json:"max"`
	Variance    string `json:"variance"`
	Stddev      string `json:"stddev"`
	WindowStart int64  `json:"window_start"`
	WindowEnd   int64  `json:"window_end"`
	Late        uint64 `json:"late"`
	Rejected    uint64 `json:"rejected"`
	Total       uint64 `json:"total"`
	Watermark   int64  `json:"watermark"`
}

type goldenFile struct {
	File   string `json:"file"`
	Bytes  int    `json:"bytes"`
	Config struct {
		WindowKind uint32 `json:"window_kind"`
		Quantiles  uint32 `json:"quantiles"`
	} `json:"config"`
	All struct {
		Stats goldenStats `json:"stats"`
		Q     []string    `json:"q"`
	} `json:"all"`
	Keys []struct {
		Key     uint64      `json:"key"`
		NameHex string      `json:"name_hex"`
		Stats   goldenStats `json:"stats"`
		Q       []string    `json:"q"`
	} `json:"keys"`
	Windows []struct {
		Key   uint64      `json:"key"`
		Stats goldenStats `json:"stats"`
		Q     []string    `json:"q"`
	} `json:"windows"`
}

type golden struct {
	FormatVersion int          `json:"format_version"`
	Q             []float64    `json:"q"`
	Files         []goldenFile `json:"files"`
}

// readGoldenFile returns tests/golden/<name>, failing the test if it cannot.
func readGoldenFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	raw := readGoldenFile(t, "golden.json")
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if g.FormatVersion != 1 || len(g.Files) < 4 {
		t.Fatalf("golden.json: version %d, %d files", g.FormatVersion, len(g.Files))
	}
	return g
}

func gf(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("golden.json: %q: %v", s, err)
	}
	return v
}

func closeRel(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return got == want || math.Abs(got-want) <= 1e-12*math.Abs(want)
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func checkGoldenStats(t *testing.T, what string, got Stats, want goldenStats) {
	t.Helper()
	if got.Count != want.Count || !sameBits(got.Min, gf(t, want.Min)) || !sameBits(got.Max, gf(t, want.Max)) ||
		!closeRel(got.Sum, gf(t, want.Sum)) || !closeRel(got.Mean, gf(t, want.Mean)) ||
		!closeRel(got.Variance, gf(t, want.Variance)) || !closeRel(got.Stddev, gf(t, want.Stddev)) ||
		got.WindowStart != want.WindowStart || got.WindowEnd != want.WindowEnd ||
		got.Late != want.Late || got.Rejected != want.Rejected || got.Total != want.Total ||
		got.Watermark != want.Watermark {
		t.Errorf("%s: stats differ\n got  %+v\n want %+v", what, got, want)
	}
}

func checkGoldenQ(t *testing.T, what string, got []float64, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d quantiles, golden has %d", what, len(got), len(want))
	}
	for i := range want {
		if !sameBits(got[i], gf(t, want[i])) {
			t.Errorf("%s: q[%d] = %v, golden %s", what, i, got[i], want[i])
		}
	}
}

func TestGoldenV1Restore(t *testing.T) {
	g := loadGolden(t)
	for _, f := range g.Files {
		t.Run(f.File, func(t *testing.T) {
			data := readGoldenFile(t, f.File)
			if len(data) != f.Bytes {
				t.Fatalf("%d bytes, golden.json says %d", len(data), f.Bytes)
			}
			a, err := Restore(data)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			withQ := f.Config.Quantiles != 0

			st, err := a.Stats()
			if err != nil {
				t.Fatal(err)
			}
			checkGoldenStats(t, "all", st, f.All.Stats)
			if withQ {
				q, err := a.Quantiles(g.Q, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkGoldenQ(t, "all", q, f.All.Q)
			} else if _, err := a.Quantiles(g.Q, nil); !errors.Is(err, ErrUnsupported) {
				t.Errorf("quantiles on a no-quantile state: %v, want ErrUnsupported", err)
			}

			n, err := a.KeyCount()
			if err != nil || n != len(f.Keys) {
				t.Fatalf("KeyCount = %d, %v; golden has %d", n, err, len(f.Keys))
			}
			for _, k := range f.Keys {
				what := "key " + strconv.FormatUint(k.Key, 10)
				ks, err := a.KeyStats(k.Key)
				if err != nil {
					t.Fatal(err)
				}
				checkGoldenStats(t, what, ks, k.Stats)
				name, err := a.KeyName(k.Key)
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString([]byte(name)) != k.NameHex {
					t.Errorf("%s: name %q, golden %s", what, name, k.NameHex)
				}
				if withQ {
					q, err := a.KeyQuantiles(k.Key, g.Q, nil)
					if err != nil {
						t.Fatal(err)
					}
					checkGoldenQ(t, what, q, k.Q)
				}
			}

			if f.Config.WindowKind == 2 || f.Config.WindowKind == 3 {
				pending, _, err := a.PendingWindows()
				if err != nil || pending != uint64(len(f.Windows)) {
					t.Fatalf("PendingWindows = %d, %v; golden has %d", pending, err, len(f.Windows))
				}
				for i, w := range f.Windows {
					dst := make([]Window, 1)
					var qs, dstQ []float64
					if withQ {
						qs, dstQ = g.Q, make([]float64, len(g.Q))
					}
					n, err := a.PollWindows(dst, qs, dstQ)
					if err != nil || n != 1 {
						t.Fatalf("PollWindows #%d = %d, %v", i, n, err)
					}
					what := "window " + strconv.Itoa(i)
					if dst[0].Key != w.Key {
						t.Errorf("%s: key %d, golden %d", what, dst[0].Key, w.Key)
					}
					checkGoldenStats(t, what, dst[0].Stats, w.Stats)
					if withQ {
						checkGoldenQ(t, what, dstQ, w.Q)
					}
				}
			}
		})
	}
}

func TestGoldenV1Canonical(t *testing.T) {
	g := loadGolden(t)
	for _, f := range g.Files {
		t.Run(f.File, func(t *testing.T) {
			data := readGoldenFile(t, f.File)
			var a Aggregator // the zero Aggregator unmarshals too
			if err := a.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			out, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("MarshalBinary after restore differs (%d vs %d bytes)", len(out), len(data))
			}
		})
	}
}

func TestGoldenV1Damaged(t *testing.T) {
	g := loadGolden(t)
	for _, f := range g.Files {
		t.Run(f.File, func(t *testing.T) {
			good := readGoldenFile(t, f.File)
			fix := func(b []byte) {
				binary.LittleEndian.PutUint64(b[len(b)-8:], HashKey(b[:len(b)-8]))
			}
			try := func(what string, b []byte, want error) {
				t.Helper()
				a, err := Restore(b)
				if err == nil {
					a.Close()
				}
				if !errors.Is(err, want) {
					t.Errorf("%s: Restore error %v, want %v", what, err, want)
				}
			}
			flipped := bytes.Clone(good)
			flipped[len(good)/2] ^= 0x5a
			try("flipped byte", flipped, ErrCorrupt)
			try("truncated", good[:len(good)-1], ErrCorrupt)
			try("empty", nil, ErrCorrupt)
			bumped := bytes.Clone(good)
			bumped[4] = 2
			fix(bumped)
			try("version 2", bumped, ErrVersion)
			trailing := append(bytes.Clone(good), 0)
			try("trailing byte", trailing, ErrCorrupt)

			// UnmarshalBinary of a damaged copy leaves the aggregator as it was.
			a, err := Restore(good)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.UnmarshalBinary(flipped); !errors.Is(err, ErrCorrupt) {
				t.Errorf("UnmarshalBinary(flipped) = %v", err)
			}
			out, err := a.MarshalBinary()
			if err != nil || !bytes.Equal(out, good) {
				t.Errorf("state changed after a refused UnmarshalBinary (%v)", err)
			}
		})
	}
}
