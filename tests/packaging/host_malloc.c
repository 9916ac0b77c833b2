/* The host keeps the C library's allocator after loading libwindowagg.
 *
 * Debian's libmimalloc.so.2 (a dependency of libwindowagg) defines malloc,
 * free, ... and operator new/delete. The library must reach mimalloc only
 * through mi_* calls; the process's malloc must stay glibc's and operator
 * new libstdc++'s, whether the host links the library (built with
 * WINDOWAGG_LINKED, no arguments) or dlopen()s it like Python's ctypes
 * (argv[1] = "local" for RTLD_LOCAL or "global" for RTLD_GLOBAL, argv[2] =
 * path of the library).
 *
 * After the checks the program uses the library (create, push, read, free)
 * and the host's malloc/free around it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windowagg/windowagg.h>

static int failures = 0;

static const char* object_of(void* addr) {
  Dl_info info;
  if (addr == NULL || dladdr(addr, &info) == 0 || info.dli_fname == NULL) return "?";
  const char* slash = strrchr(info.dli_fname, '/');
  return slash ? slash + 1 : info.dli_fname;
}

static int starts_with(const char* s, const char* prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* `scope` resolves to the same definition as libc's, inside libc.so.6. */
static void expect_libc(const char* what, void* scope, void* libc, const char* name) {
  void* got = dlsym(scope, name);
  void* want = dlsym(libc, name);
  if (got == NULL || got != want || !starts_with(object_of(got), "libc.so")) {
    printf("FAIL %s %s resolves to %p in %s; libc.so.6 has %p\n", what, name, got,
           object_of(got), want);
    ++failures;
  } else {
    printf("ok   %s %s -> %s\n", what, name, object_of(got));
  }
}

/* operator new/delete: libstdc++'s, never libmimalloc's. A lookup that finds
 * nothing (a C host that did not load libstdc++ globally) is fine. */
static void expect_libstdcxx(const char* what, void* scope, const char* name) {
  void* got = dlsym(scope, name);
  if (got == NULL) {
    printf("ok   %s %s not visible in this scope\n", what, name);
  } else if (!starts_with(object_of(got), "libstdc++.so")) {
    printf("FAIL %s %s resolves to %s (want libstdc++.so.6)\n", what, name, object_of(got));
    ++failures;
  } else {
    printf("ok   %s %s -> %s\n", what, name, object_of(got));
  }
}

static const char* const kAllocFns[] = {
    "malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc",
    "memalign", "valloc", "pvalloc", "malloc_usable_size", "reallocarray"};
static const char* const kNewDelete[] = {"_Znwm", "_Znam", "_ZdlPv", "_ZdaPv",
                                         "_ZdlPvm", "_ZnwmSt11align_val_t"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef aggregator* (*new_fn)(long long);
typedef double (*batch_fn)(aggregator*, const double*, size_t);
typedef void (*free_fn)(aggregator*);
typedef int (*stats_fn)(const aggregator*, aggregator_stats*);

int main(int argc, char** argv) {
#ifdef WINDOWAGG_LINKED
  const int linked = 1;
  const char* mode = "linked";
  (void)argc;
  (void)argv;
#else
  const int linked = 0;
  if (argc < 3 || (strcmp(argv[1], "local") != 0 && strcmp(argv[1], "global") != 0)) {
    fprintf(stderr, "usage: %s local|global <path to libwindowagg.so>\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
#endif

  void* lib = RTLD_DEFAULT;
  if (!linked) {
    int flags = RTLD_NOW | (strcmp(mode, "global") == 0 ? RTLD_GLOBAL : RTLD_LOCAL);
    lib = dlopen(argv[2], flags);
    if (lib == NULL) {
      printf("FAIL dlopen(%s): %s\n", argv[2], dlerror());
      return 1;
    }
  }
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  if (libc == NULL) {
    printf("FAIL libc.so.6 is not loaded: %s\n", dlerror());
    return 1;
  }

  /* What the host's own calls bind to: the global scope. */
  for (size_t i = 0; i < COUNT(kAllocFns); ++i)
    expect_libc("host", RTLD_DEFAULT, libc, kAllocFns[i]);
  void* host_malloc = (void*)malloc; /* this executable's own reference */
  if (host_malloc != dlsym(libc, "malloc")) {
    printf("FAIL the host's malloc is %s's, not libc.so.6's\n", object_of(host_malloc));
    ++failures;
  }
  for (size_t i = 0; i < COUNT(kNewDelete); ++i) expect_libstdcxx("host", RTLD_DEFAULT, kNewDelete[i]);

  /* What the library and its dependencies bind to when dlopen()ed: the global
   * scope first, then the library's own dependency list in load order. */
  if (!linked) {
    for (size_t i = 0; i < COUNT(kNewDelete); ++i)
      expect_libstdcxx("library scope", lib, kNewDelete[i]);
  }

#ifdef WINDOWAGG_LINKED
  new_fn p_new = aggregator_new;
  batch_fn p_batch = aggregator_process_batch;
  free_fn p_free = aggregator_free;
  stats_fn p_stats = aggregator_get_stats;
#else
  new_fn p_new = (new_fn)dlsym(lib, "aggregator_new");
  batch_fn p_batch = (batch_fn)dlsym(lib, "aggregator_process_batch");
  free_fn p_free = (free_fn)dlsym(lib, "aggregator_free");
  stats_fn p_stats = (stats_fn)dlsym(lib, "aggregator_get_stats");
#endif
  if (!p_new || !p_batch || !p_free || !p_stats) {
    printf("FAIL the library does not export the API\n");
    return 1;
  }

  /* Use the library with host-allocated buffers around it. */
  enum { N = 100000 };
  double* data = malloc(N * sizeof *data);
  if (data == NULL) return 1;
  for (int i = 0; i < N; ++i) data[i] = (double)(i % 1000);
  aggregator* a = p_new(1000);
  if (a == NULL) {
    printf("FAIL aggregator_new(1000) returned NULL\n");
    return 1;
  }
  double mean = 0;
  for (int r = 0; r < 10; ++r) mean = p_batch(a, data, N);
  aggregator_stats st = {0};
  if (mean != 499.5 || p_stats(a, &st) != 0 || st.count != 1000 || st.min != 0 ||
      st.max != 999) {
    printf("FAIL unexpected results: mean %.17g count %llu\n", mean,
           (unsigned long long)st.count);
    ++failures;
  }
  p_free(a);
  char* s = realloc(malloc(16), 1 << 20);
  if (s == NULL) return 1;
  memset(s, 1, 1 << 20);
  free(s);
  free(data);

  /* Still libc's after the library ran (no lazy interposition). */
  expect_libc("host after use", RTLD_DEFAULT, libc, "malloc");
  expect_libc("host after use", RTLD_DEFAULT, libc, "free");

  if (!linked) dlclose(lib);
  dlclose(libc);
  printf(failures == 0 ? "host allocator (%s): OK\n" : "host allocator (%s): FAILED\n", mode);
  return failures == 0 ? 0 : 1;
}
