# Sourced by scripts/test.sh, bench.sh and demo.sh:
#   use_build_tree <build dir>
# points the Go (cgo + pkg-config) and Python (ctypes) bindings, and any
# program started from the calling script, at the library built in <build
# dir>, without installing it.
use_build_tree() {
  local build="$1" root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  export WINDOWAGG_BUILD_DIR="$build"
  export PKG_CONFIG_PATH="$build/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export CGO_ENABLED=1
  export CGO_CFLAGS="-O2 -g -I$root/include"
  export CGO_LDFLAGS="-O2 -g -L$build/lib -Wl,-rpath,$build/lib"
  export WINDOWAGG_LIBRARY="$build/lib/libwindowagg.so"
}
