// ThreadSanitizer builds only (added to the library by CMakeLists.txt when
// WINDOWAGG_SANITIZE contains "thread").
//
// Debian's Abseil shared libraries are not built with TSan, so absl::Mutex
// locks and unlocks are invisible to it (futex syscalls and uninstrumented
// atomics): every access guarded by an absl::Mutex is then reported as a
// data race. These definitions take precedence inside libwindowagg (hidden
// visibility binds the library's calls to them), tell TSan about the lock
// (the annotations Abseil itself makes when built with TSan), and call the
// real implementation found with dlsym(RTLD_NEXT).
#include <absl/base/options.h>
#include <absl/synchronization/mutex.h>
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

#define WA_STR2(x) #x
#define WA_STR(x) WA_STR2(x)

// "_ZN4absl" <len><inline namespace> "5Mutex" <suffix>
void* Real(const char* suffix) {
  std::string ns = WA_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name = "_ZN4absl" + std::to_string(ns.size()) + ns + "5Mutex" + suffix;
  void* p = dlsym(RTLD_NEXT, name.c_str());
  if (p == nullptr) {
    std::fprintf(stderr, "tsan_absl_mutex: %s not found\n", name.c_str());
    std::abort();
  }
  return p;
}

using Fn = void (*)(absl::Mutex*);

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static Fn real = reinterpret_cast<Fn>(Real("4LockEv"));
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  static Fn real = reinterpret_cast<Fn>(Real("6UnlockEv"));
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderLock() {
  static Fn real = reinterpret_cast<Fn>(Real("10ReaderLockEv"));
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

void Mutex::ReaderUnlock() {
  static Fn real = reinterpret_cast<Fn>(Real("12ReaderUnlockEv"));
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

ABSL_NAMESPACE_END
}  // namespace absl
