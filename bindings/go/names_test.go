package windowagg

import (
	"errors"
	"math"
	"testing"
)

func TestNamesTotalsAndLabels(t *testing.T) {
	a, err := New(WithCountWindow(4), WithSkipNonFinite())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.EnableTotals()
	if err := a.PushStrings([]float64{1, 2, math.NaN(), 3, 4, 5}, nil, []string{"x", "x", "x", "y", "x", "x"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Push([]float64{10}, nil, []uint64{HashString("x")}); err != nil {
		t.Fatal(err)
	}
	tx, ok := a.LifetimeTotals(HashString("x"))
	if !ok || tx.Count != 5 || tx.Sum != 22 {
		t.Fatalf("totals of x: %+v %v (want 5 values, sum 22; the window holds 4)", tx, ok)
	}
	// Batcher: names registered for ids, no allocation once registered.
	b := NewBatcher(a, WithBatchSize(1<<20), WithoutTimestamps())
	ls := MustLabels("b", "2", "a", "1")
	if ls.Name != `a="1",b="2"` || ls.ID != HashString(ls.Name) {
		t.Fatalf("label set %+v", ls)
	}
	_ = b.AddString("ep", 0, 1)
	_ = b.AddLabels(ls, 0, 1)
	if n := testing.AllocsPerRun(1000, func() {
		_ = b.AddString("ep", 0, 1)
		_ = b.AddLabels(ls, 0, 1)
	}); n != 0 {
		t.Fatalf("AddString/AddLabels allocate %v per call", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[uint64]string{HashString("ep"): "ep", ls.ID: ls.Name, HashString("y"): "y"} {
		if got, err := a.KeyName(id); err != nil || got != want {
			t.Fatalf("KeyName(%d) = %q, %v; want %q", id, got, err, want)
		}
	}
	for _, bad := range [][]string{{"a"}, {"1a", "x"}, {"a", "x", "a", "y"}} {
		if _, err := Labels(bad...); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Labels(%q): %v", bad, err)
		}
	}
}
