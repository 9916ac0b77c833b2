package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcSetting is a GOGC / GOMEMLIMIT pair applied to the runtime for the
// duration of one side (debug.SetGCPercent / debug.SetMemoryLimit), so that
// each side runs with the setting its kind of service would use: the pure-Go
// sides with the process's own (GOGC=100 unless the environment says
// otherwise), the windowagg sides with what bindings/go/README.md tells a
// service whose big state is native to apply.
type gcSetting struct {
	gogc  int   // -1 = off
	limit int64 // math.MaxInt64 = no limit
}

// processGC is the setting the process started with (GOGC, GOMEMLIMIT).
var processGC = func() gcSetting {
	g := debug.SetGCPercent(100)
	debug.SetGCPercent(g)
	return gcSetting{gogc: g, limit: debug.SetMemoryLimit(-1)}
}()

// parseGCSetting reads "env" (the process's setting), or a comma-separated
// "gogc=N|off" and "memlimit=SIZE|off" (SIZE in bytes or with a B, KiB, MiB
// or GiB suffix); an item left out keeps the process's value.
func parseGCSetting(s string) (gcSetting, error) {
	g := processGC
	s = strings.TrimSpace(s)
	if s == "" || s == "env" {
		return g, nil
	}
	for _, item := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return g, fmt.Errorf("GC setting %q: item %q is not key=value (gogc=N|off, memlimit=SIZE|off)", s, item)
		}
		switch strings.ToLower(k) {
		case "gogc":
			if v == "off" {
				g.gogc = -1
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return g, fmt.Errorf("GC setting %q: gogc=%q is not a non-negative integer or off", s, v)
			}
			g.gogc = n
		case "memlimit":
			if v == "off" {
				g.limit = math.MaxInt64
				continue
			}
			n, err := parseSize(v)
			if err != nil {
				return g, fmt.Errorf("GC setting %q: memlimit: %v", s, err)
			}
			g.limit = n
		default:
			return g, fmt.Errorf("GC setting %q: unknown key %q (gogc, memlimit)", s, k)
		}
	}
	return g, nil
}

func parseSize(v string) (int64, error) {
	mult := int64(1)
	num := v
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(v, u.suf) {
			num, mult = strings.TrimSuffix(v, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a positive size (bytes, or with B, KiB, MiB, GiB)", v)
	}
	return n * mult, nil
}

// apply sets g and returns a function that restores what was set before.
func (g gcSetting) apply() (restore func()) {
	oldGC := debug.SetGCPercent(g.gogc)
	oldLimit := debug.SetMemoryLimit(g.limit)
	return func() {
		debug.SetGCPercent(oldGC)
		debug.SetMemoryLimit(oldLimit)
	}
}

func (g gcSetting) String() string {
	gc := "off"
	if g.gogc >= 0 {
		gc = strconv.Itoa(g.gogc)
	}
	lim := "off"
	if g.limit != math.MaxInt64 {
		lim = siBytes(float64(g.limit))
	}
	return "GOGC=" + gc + " GOMEMLIMIT=" + lim
}
