package windowagg

import (
	"errors"
	"testing"
)

// The compatibility constructor: one name (NewCount, Python
// Aggregator.new_count, C++ Aggregator::new_count), one error (the library's
// own status, ECONFIG for a capacity out of range), quantiles off.
func TestNewCountErrorAndQuantilesOff(t *testing.T) {
	for _, capacity := range []int64{0, -1, 1<<32 + 1} {
		_, err := NewCount(capacity)
		var e *Error
		if !errors.As(err, &e) || e.Status != StatusConfig || !errors.Is(err, ErrConfig) {
			t.Errorf("NewCount(%d) error = %v, want ErrConfig (AGGREGATOR_ECONFIG)", capacity, err)
		}
	}
	a, err := NewCount(3)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg, err := a.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Quantiles {
		t.Error("NewCount keeps quantiles; aggregator_new documents them off")
	}
	a.ProcessBatch([]float64{1, 2, 3})
	if _, err := a.Quantiles([]float64{0.5}, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("quantiles on NewCount handle: %v, want ErrUnsupported", err)
	}
}

func TestStatsExMatchesStats(t *testing.T) {
	a, err := New(WithCountWindow(4))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Push([]float64{1, 2, 3, 4, 5}, nil, []uint64{7, 7, 7, 8, 8}); err != nil {
		t.Fatal(err)
	}
	s, _ := a.Stats()
	sx, err := a.StatsEx()
	if err != nil || sx.Stats != s {
		t.Fatalf("StatsEx = %+v, %v; Stats = %+v", sx, err, s)
	}
	if sx.structSize != uint32(abiStructs()[4].cSize) {
		t.Errorf("struct_size %d", sx.structSize)
	}
	k, _ := a.KeyStats(7)
	kx, err := a.KeyStatsEx(7)
	if err != nil || kx.Stats != k {
		t.Fatalf("KeyStatsEx = %+v, %v; KeyStats = %+v", kx, err, k)
	}
	if _, err := a.KeyStatsEx(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("KeyStatsEx(unknown) = %v, want ErrNotFound", err)
	}
	a.Close()
	if _, err := a.StatsEx(); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
