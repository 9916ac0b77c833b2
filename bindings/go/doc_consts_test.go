package windowagg

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestGoDocHasNoCgoNames: the package documentation shows Go literals, not
// cgo names (C.AGGREGATOR_...) or cgo-generated identifiers (_Ciconst_...).
// consts.go checks at compile time that each literal equals its C value.
func TestGoDocHasNoCgoNames(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	out, err := exec.Command("go", "doc", "-all", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go doc: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`\bC\.[A-Za-z_]\w*|_Ci?const_\w+|_Ctype_\w+`).FindAll(out, -1); len(m) > 0 {
		t.Fatalf("go doc shows cgo names: %q", m)
	}
	for _, want := range []string{"KeysReject   KeyPolicy = 0", "StatusInternal        Status = 13", "WindowHopping  WindowKind = 3"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(out) {
			t.Errorf("go doc lacks %q", want)
		}
	}
}
