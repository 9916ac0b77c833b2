package windowagg

/*
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

// Names the shared object that the process's `malloc` symbol resolves to, and
// the one `aggregator_new` comes from.
static const char* wa_symbol_object(int which) {
	void* p = which == 0 ? dlsym(RTLD_DEFAULT, "malloc") : dlsym(RTLD_DEFAULT, "aggregator_new");
	Dl_info info;
	if (p == NULL || dladdr(p, &info) == 0 || info.dli_fname == NULL) return "";
	return info.dli_fname;
}
*/
import "C"

// hostMallocObject returns the file of the shared object that this process's
// malloc comes from (tests check it is glibc, not the library's mimalloc).
func hostMallocObject() string { return C.GoString(C.wa_symbol_object(0)) }

// libraryObject returns the file of the loaded libwindowagg.
func libraryObject() string { return C.GoString(C.wa_symbol_object(1)) }
