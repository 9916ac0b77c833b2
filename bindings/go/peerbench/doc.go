// Package peerbench benchmarks windowagg's quantile path against Go peers:
// DataDog/sketches-go (DDSketch), HdrHistogram-go and client_golang's
// Summary. It is a module of its own so that the windowagg package keeps no
// dependencies. Run: go test -run XXX -bench . (see ../README.md).
package peerbench
