package windowagg

// Binding coverage and ABI agreement (issue 13, step 4): the Go side of
// "one source of truth". windowagg.h is the truth; these tests fail when the
// header declares a function this package neither calls nor lists in
// notWrapped, an enumerator it neither mirrors nor uses, a struct it mirrors
// with another layout, or a struct it neither mirrors nor lists in
// notMirrored. See docs/conventions.md.

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Functions of windowagg.h deliberately not called by this package.
var notWrapped = map[string]string{
	"aggregator_stats_ex_size": "the package is compiled against the header of the library it links (pkg-config), so sizeof(aggregator_stats_ex) is the library's",
}

// Enumerators of windowagg.h with no Go constant and no C.<name> use.
var constNotUsed = map[string]string{
	"AGGREGATOR_NONFINITE_REJECT": "the default aggregator_config_init sets; Config.SkipNonFinite false means it",
}

// Structs of windowagg.h deliberately without a Go mirror type.
var notMirrored = map[string]string{
	"aggregator":                 "opaque handle (*C.aggregator)",
	"aggregator_config":          "filled field by field through C.aggregator_config (cgo checks each name at compile time), never reinterpreted",
	"aggregator_rolling_options": "filled field by field in helpers.h (wa_rolling), never reinterpreted",
	"aggregator_rolling_output":  "built in helpers.h (wa_rolling): its out pointer points into a Go slice, and Go memory must not hold Go pointers C reads",
}

func headerText(t *testing.T) string {
	t.Helper()
	path := filepath.Join("..", "..", "include", "windowagg", "windowagg.h")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the header: %v", err)
	}
	return string(b)
}

// headerFunctions: every function the header declares with AGGREGATOR_API.
func headerFunctions(t *testing.T) []string {
	re := regexp.MustCompile(`AGGREGATOR_API[^;(#]*?\b(aggregator_\w+)\s*\(`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(headerText(t), -1) {
		out = append(out, m[1])
	}
	if len(out) < 30 {
		t.Fatalf("found only %d AGGREGATOR_API declarations: parser broken?", len(out))
	}
	return out
}

// goSources: the package's non-test Go files, concatenated.
func goSources(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// calledFunctions: the aggregator_* functions the package calls, directly
// (C.aggregator_x( in Go) or through the helpers of helpers.h that Go calls
// (C.wa_x(), followed transitively through helpers calling helpers).
func calledFunctions(t *testing.T) map[string]bool {
	src := goSources(t)
	h, err := os.ReadFile("helpers.h")
	if err != nil {
		t.Fatal(err)
	}
	// WA_MSG(st) expands to wa_errdup().
	helpers := strings.ReplaceAll(string(h), "WA_MSG(", "wa_errdup(")
	// Split helpers.h into helper bodies by their definitions.
	defRe := regexp.MustCompile(`(?m)^static inline [\w\s\*]+?\b(wa_\w+)\s*\(`)
	locs := defRe.FindAllStringSubmatchIndex(helpers, -1)
	body := map[string]string{}
	for i, l := range locs {
		end := len(helpers)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body[helpers[l[2]:l[3]]] = helpers[l[1]:end]
	}
	called := map[string]bool{}
	seen := map[string]bool{}
	var visit func(text string)
	callRe := regexp.MustCompile(`\b(aggregator_\w+|wa_\w+)\s*\(`)
	visit = func(text string) {
		for _, m := range callRe.FindAllStringSubmatch(text, -1) {
			name := m[1]
			if strings.HasPrefix(name, "aggregator_") {
				called[name] = true
			} else if b, ok := body[name]; ok && !seen[name] {
				seen[name] = true
				visit(b)
			}
		}
	}
	// From Go, only C.<name>( counts as a call.
	goCall := regexp.MustCompile(`\bC\.((?:aggregator|wa)_\w+)\s*\(`)
	var direct strings.Builder
	for _, m := range goCall.FindAllStringSubmatch(src, -1) {
		direct.WriteString(m[1] + "(\n")
	}
	visit(direct.String())
	return called
}

func TestBindingCallsEveryExportedFunction(t *testing.T) {
	called := calledFunctions(t)
	declared := map[string]bool{}
	for _, fn := range headerFunctions(t) {
		declared[fn] = true
		_, listed := notWrapped[fn]
		switch {
		case called[fn] && listed:
			t.Errorf("%s is called, but notWrapped lists it (remove it from the list)", fn)
		case !called[fn] && !listed:
			t.Errorf("%s (windowagg.h) is not called by the Go binding: wrap it, or add it to notWrapped with a reason", fn)
		}
	}
	for fn := range notWrapped {
		if !declared[fn] {
			t.Errorf("notWrapped lists %s, which windowagg.h does not declare", fn)
		}
	}
	for fn := range called {
		if !declared[fn] {
			t.Errorf("the binding calls %s, which windowagg.h does not declare", fn)
		}
	}
}

func TestMirrorStructsMatchC(t *testing.T) {
	for _, m := range abiStructMismatches() {
		t.Error(m)
	}
	// Every field of each Go mirror is in the table (a field added on the Go
	// side only would otherwise go unchecked), and every header struct is
	// mirrored or listed in notMirrored.
	goTypes := map[string]reflect.Type{
		"Stats": reflect.TypeOf(Stats{}), "KeyStats": reflect.TypeOf(KeyStats{}),
		"Window": reflect.TypeOf(Window{}), "Cursor": reflect.TypeOf(Cursor{}),
		"StatsEx": reflect.TypeOf(StatsEx{}), "KeyStatsEx": reflect.TypeOf(KeyStatsEx{}),
		"WindowEx": reflect.TypeOf(WindowEx{}),
	}
	mirrored := map[string]bool{}
	for _, st := range abiStructs() {
		mirrored[st.cName] = true
		ty, ok := goTypes[st.goName]
		if !ok {
			t.Errorf("no reflect type registered for %s", st.goName)
			continue
		}
		if ty.NumField() != len(st.fields) {
			t.Errorf("%s has %d fields, the layout table checks %d", st.goName, ty.NumField(), len(st.fields))
		}
	}
	re := regexp.MustCompile(`typedef struct (aggregator\w*)`)
	for _, m := range re.FindAllStringSubmatch(headerText(t), -1) {
		if _, listed := notMirrored[m[1]]; !mirrored[m[1]] && !listed {
			t.Errorf("windowagg.h declares struct %s: mirror it in abi_layout.go or list it in notMirrored", m[1])
		}
	}
}

func TestConstantsMatchC(t *testing.T) {
	inTable := map[string]bool{}
	for _, c := range abiConsts() {
		inTable[c.cName] = true
		if c.cValue != c.goValue {
			t.Errorf("%s is %d in C, %d in Go", c.cName, c.cValue, c.goValue)
		}
	}
	// Every enumerator of the header is mirrored by a Go constant (in the
	// table) or used by its C name in the package.
	src := goSources(t)
	re := regexp.MustCompile(`(?m)^\s*(AGGREGATOR_[A-Z0-9_]+)\s*=`)
	var missing []string
	n := 0
	for _, m := range re.FindAllStringSubmatch(headerText(t), -1) {
		n++
		if _, ok := constNotUsed[m[1]]; ok {
			continue
		}
		if !inTable[m[1]] && !strings.Contains(src, "C."+m[1]) {
			missing = append(missing, m[1])
		}
	}
	if n < 20 {
		t.Fatalf("found only %d enumerators in windowagg.h: parser broken?", n)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("windowagg.h enumerator %s has no Go constant in abiConsts and is not used as C.%s", m, m)
	}
}
