package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// profiles records the paced phase of one side (-profile-side) with
// runtime/trace, the CPU profiler and the block and mutex profiles, so that
// the request tail can be taken apart (go tool trace -pprof=sched|syscall|sync,
// go tool pprof).
type profiles struct {
	c       *config
	logw    *os.File
	files   []*os.File
	on      bool // this side is the profiled one
	tracing bool
	cpu     bool
}

func startProfiles(c *config, id string, logw *os.File) *profiles {
	p := &profiles{c: c, logw: logw}
	if id != c.profileSide {
		return p
	}
	p.on = true
	open := func(name string) *os.File {
		f, err := os.Create(name)
		if err != nil {
			fmt.Fprintf(logw, "profile: %v\n", err)
			return nil
		}
		p.files = append(p.files, f)
		return f
	}
	if c.traceOut != "" {
		if f := open(c.traceOut); f != nil {
			p.tracing = trace.Start(f) == nil
		}
	}
	if c.cpuOut != "" {
		if f := open(c.cpuOut); f != nil {
			p.cpu = pprof.StartCPUProfile(f) == nil
		}
	}
	if c.blockOut != "" {
		runtime.SetBlockProfileRate(10_000) // events of >= 10us, sampled below
	}
	if c.mutexOut != "" {
		runtime.SetMutexProfileFraction(1)
	}
	return p
}

func (p *profiles) stop() {
	if p.tracing {
		trace.Stop()
	}
	if p.cpu {
		pprof.StopCPUProfile()
	}
	write := func(name, prof string) {
		f, err := os.Create(name)
		if err == nil {
			err = pprof.Lookup(prof).WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintf(p.logw, "profile %s: %v\n", prof, err)
		}
	}
	if p.on && p.c.blockOut != "" {
		write(p.c.blockOut, "block")
		runtime.SetBlockProfileRate(0)
	}
	if p.on && p.c.mutexOut != "" {
		write(p.c.mutexOut, "mutex")
		runtime.SetMutexProfileFraction(0)
	}
	for _, f := range p.files {
		f.Close()
	}
}
