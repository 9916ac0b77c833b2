package prometheus_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsideProgram is the scratch module's main.go: it pushes, reads and
// scrapes the collector the way another project would.
const outsideProgram = `package main

import (
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	windowagg "github.com/windowagg/windowagg/bindings/go"
	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

func main() {
	agg, err := windowagg.New(windowagg.WithSlidingWindow(time.Minute, 0))
	if err != nil {
		panic(err)
	}
	defer agg.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "outside_latency_seconds"}))
	now := time.Now().UnixNano()
	vals := []float64{1, 2, 3, 4}
	if err := agg.PushStrings(vals, []int64{now, now, now, now}, []string{"GET", "GET", "GET", "GET"}); err != nil {
		panic(err)
	}
	s, err := agg.KeyStats(windowagg.HashString("GET"))
	if err != nil {
		panic(err)
	}
	n, err := testutil.GatherAndCount(reg, "outside_latency_seconds")
	if err != nil {
		panic(err)
	}
	fmt.Printf("count=%d sum=%g series=%d\n", s.Count, s.Sum, n)
	if s.Count != 4 || s.Sum != 10 || n != 1 {
		os.Exit(1)
	}
}
`

// recipe returns the shell block of bindings/go/README.md between the
// marker comment <!-- name: ... --> and <!-- end name -->.
func recipe(t *testing.T, readme, name string) string {
	t.Helper()
	re := regexp.MustCompile("(?s)<!-- " + name + ":[^>]*-->\\s*```sh\\n(.*?)```\\s*<!-- end " + name + " -->")
	m := re.FindStringSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no %q block", name)
	}
	return m[1]
}

// TestOutsideModule follows the README's two recipes for depending on the
// binding and its collector from another module (a go.work, and replace
// directives), each in a scratch module in a temporary directory outside
// the repository, and runs the program it builds.
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scratch modules")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repo, "bindings/go/README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"outside-module-recipe", "outside-module-replace"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if strings.HasPrefix(dir, repo+string(filepath.Separator)) {
				t.Fatalf("scratch dir %s is inside the repository", dir)
			}
			must := func(err error) {
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/outside\n\ngo 1.24.0\n"), 0o644))
			must(os.WriteFile(filepath.Join(dir, "main.go"), []byte(outsideProgram), 0o644))
			script := "set -eu\n" + recipe(t, string(readme), name)
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = dir
			env := []string{"WINDOWAGG=" + repo}
			for _, e := range os.Environ() {
				// a workspace or flags of the outer go command must not leak in
				if !strings.HasPrefix(e, "GOWORK=") && !strings.HasPrefix(e, "GOFLAGS=") {
					env = append(env, e)
				}
			}
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("recipe %s failed: %v", name, err)
			}
			if !strings.Contains(string(out), "count=4 sum=10 series=1") {
				t.Fatalf("program output %q", out)
			}
		})
	}
}
