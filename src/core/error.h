// The one error type of the core. The C ABI layer turns it into a status
// code plus the thread's last-error message; nothing else crosses.
#ifndef WINDOWAGG_CORE_ERROR_H_
#define WINDOWAGG_CORE_ERROR_H_

#include <stdexcept>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace windowagg::internal {

// Values equal the AGGREGATOR_* status codes of the C header.
enum class Status : int {
  kOk = 0,
  kInvalidArgument = 1,
  kConfig = 2,
  kValue = 3,
  kNotFound = 4,
  kBuffer = 5,
  kNoMemory = 6,
  kKeyLimit = 7,
  kMemLimit = 8,
  kCorrupt = 9,
  kVersion = 10,
  kMismatch = 11,
  kUnsupported = 12,
  kInternal = 13,
};

class Error : public std::runtime_error {
 public:
  Error(Status status, std::string message)
      : std::runtime_error(std::move(message)), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

template <typename... Args>
[[noreturn]] void Fail(Status status, const absl::FormatSpec<Args...>& format,
                       const Args&... args) {
  throw Error(status, absl::StrFormat(format, args...));
}

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_ERROR_H_
