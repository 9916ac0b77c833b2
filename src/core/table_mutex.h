// The series table's reader/writer lock (SeriesTable::TableLock): every
// push and read takes it shared, once per call; key inserts, removals,
// eviction, restore and merges take it exclusively.
//
// Not absl::Mutex: under an Abseil built with deadlock detection (Debian's
// shared one has it on, and the mode is the host's process-wide setting,
// which the library must not change), every acquisition updates a global
// lock graph; on a one-value push that was about a fifth of the call.
// Writers are preferred, as with absl::Mutex: pushes and reads holding the
// lock shared back to back must not starve a key insert. So, as with
// absl::Mutex, a thread must not take it shared twice (a writer waiting in
// between would block the second).
#ifndef WINDOWAGG_CORE_TABLE_MUTEX_H_
#define WINDOWAGG_CORE_TABLE_MUTEX_H_

#include <pthread.h>

namespace windowagg::internal {

class TableMutex {
 public:
  TableMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    // (glibc's default kind prefers readers.)
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&rw_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~TableMutex() { pthread_rwlock_destroy(&rw_); }
  TableMutex(const TableMutex&) = delete;
  TableMutex& operator=(const TableMutex&) = delete;

  void Lock() { pthread_rwlock_wrlock(&rw_); }
  void ReaderLock() { pthread_rwlock_rdlock(&rw_); }
  void Unlock() { pthread_rwlock_unlock(&rw_); }

 private:
  pthread_rwlock_t rw_;
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_TABLE_MUTEX_H_
