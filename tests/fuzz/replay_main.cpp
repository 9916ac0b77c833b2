// Plain main for the fuzz targets (any compiler, no libFuzzer): runs
// LLVMFuzzerTestOneInput on every file named on the command line and on
// every regular file (not starting with '.') in every directory named, in
// sorted order. A violated invariant aborts, so ctest reports the failure;
// the file being run is printed first.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REPLAY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REPLAY_SANITIZED 1
#endif
#endif

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
#ifndef REPLAY_SANITIZED
  // Hostile inputs may make the library try huge allocations; the header
  // allows ENOMEM, so cap the address space (4 GiB) to turn them into
  // ENOMEM instead of paging gigabytes in. (Sanitizer builds: the test sets
  // max_allocation_size_mb / allocator_may_return_null instead.)
  struct rlimit lim = {4ull << 30, 4ull << 30};
  setrlimit(RLIMIT_AS, &lim);
#endif
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path p(argv[i]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
      }
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  size_t total = 0;
  for (const auto& f : files) {
#ifdef REPLAY_SANITIZED
    // oom-* inputs make the library attempt huge allocations; sanitizer
    // runtimes abort on a failed operator new instead of throwing, so those
    // run only in plain builds (under the RLIMIT_AS above: ENOMEM).
    if (f.filename().string().rfind("oom-", 0) == 0) {
      std::fprintf(stderr, "replay: %s skipped under a sanitizer\n", f.c_str());
      continue;
    }
#endif
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    total += bytes.size();
  }
  std::printf("replayed %zu inputs (%zu bytes), all invariants held\n", files.size(), total);
  return files.empty() ? 3 : 0;
}
