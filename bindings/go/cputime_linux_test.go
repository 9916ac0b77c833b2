package windowagg

import (
	"syscall"
	"unsafe"
)

// processCPU is the process's user+system CPU time in ns (every thread:
// the caller, and the Go runtime's own work around cgo calls), steadier than
// wall time on a shared machine.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// threadCPU is the calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID),
// what Google Benchmark's CPU column measures; meaningful for a goroutine
// locked to its thread (runtime.LockOSThread).
func threadCPU() int64 {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID,
		uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano()
}
