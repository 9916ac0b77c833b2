//go:build !linux

package windowagg

// CPU clocks for benchmarks are read on Linux only; elsewhere the cpu-ns
// metrics read 0.
func processCPU() int64 { return 0 }
func threadCPU() int64  { return 0 }
