"""Binding coverage and ABI agreement (issue 13, step 4): the Python side.

windowagg.h is the truth. C's facts (sizeof/offsetof of every struct the
binding mirrors, the value of every enumerator) come from a tiny C program
compiled here against the header, never from numbers copied into this file.
These tests fail when the header declares a function ``_lib.py`` gives no
prototype (restype + argtypes), a struct mirrored with another layout, a
struct neither mirrored nor listed in NOT_MIRRORED, or an enumerator the
binding has no (equal) value for. See docs/conventions.md.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from typing import Dict, List, Tuple

import pytest

import windowagg
from windowagg import _aggregator as A
from windowagg import _errors as E
from windowagg import _lib as L
from windowagg import _rolling as R

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "include", "windowagg", "windowagg.h"))

# Header structs without a ctypes mirror, and why.
NOT_MIRRORED = {
    "aggregator": "opaque handle, passed as c_void_p",
}

# ctypes mirror -> the C struct it stands for (aggregator_window has the
# KeyStats layout: Window is KeyStats).
MIRRORS: List[Tuple[type, str]] = [
    (L.Config, "aggregator_config"),
    (L.Stats, "aggregator_stats"),
    (L.Cursor, "aggregator_cursor"),
    (L.KeyStats, "aggregator_key_stats"),
    (L.Window, "aggregator_window"),
    (L.StatsEx, "aggregator_stats_ex"),
    (L.KeyStatsEx, "aggregator_key_stats_ex"),
    (L.WindowEx, "aggregator_window_ex"),
    (L.RollingOptions, "aggregator_rolling_options"),
    (L.RollingOutput, "aggregator_rolling_output"),
]


def _header() -> str:
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def _header_functions() -> List[str]:
    names = re.findall(r"AGGREGATOR_API[^;(#]*?\b(aggregator_\w+)\s*\(", _header())
    assert len(names) >= 30, "parser broken?"
    return names


def _header_enumerators() -> List[str]:
    names = re.findall(r"(?m)^\s*(AGGREGATOR_[A-Z0-9_]+)\s*=", _header())
    assert len(names) >= 20, "parser broken?"
    return names



def _python_enumerators() -> Dict[str, int]:
    """Every enumerator value the binding holds, by its C name."""
    out: Dict[str, int] = {}
    for code, cname in E.STATUS_NAMES.items():
        out[cname] = code
    for py_name in ("OK", "EINVAL", "ECONFIG", "EVALUE", "ENOTFOUND", "EBUFFER", "ENOMEM",
                    "EKEYLIMIT", "EMEMLIMIT", "ECORRUPT", "EVERSION", "EMISMATCH",
                    "EUNSUPPORTED", "EINTERNAL"):
        cname = "AGGREGATOR_" + py_name
        assert out.get(cname, getattr(E, py_name)) == getattr(E, py_name), cname
        out[cname] = getattr(E, py_name)
    for table, prefix in ((A._WINDOWS, "AGGREGATOR_WINDOW_"), (A._NONFINITE, "AGGREGATOR_NONFINITE_"),
                          (A._KEY_POLICIES, "AGGREGATOR_KEYS_"), (A._THREADING, "AGGREGATOR_THREADING_"),
                          (R._ROLLING_AGGREGATES, "AGGREGATOR_ROLLING_")):
        for py_name, v in table.items():
            out[prefix + py_name.upper()] = v
    # Exception classes carry a status each.
    for cls in E._BY_STATUS.values():
        assert E.STATUS_NAMES[cls.status] in out
    return out


@pytest.fixture(scope="module")
def c_truth(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, int]:
    """{"sizeof S": n, "offsetof S f": n, "alignof S": n, ENUMERATOR: value} from C."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to ask the header for its layouts")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <stdalign.h>",
             "#include <windowagg/windowagg.h>", "int main(void) {"]
    for cls, cname in MIRRORS:
        lines.append(f'  printf("sizeof {cname} %zu\\n", sizeof({cname}));')
        lines.append(f'  printf("alignof {cname} %zu\\n", alignof({cname}));')
        for fname, _ in cls._fields_:
            lines.append(f'  printf("offsetof {cname} {fname} %zu\\n", offsetof({cname}, {fname}));')
            lines.append(f'  printf("sizeof {cname} {fname} %zu\\n", sizeof((({cname}*)0)->{fname}));')
    for name in _header_enumerators():
        lines.append(f'  printf("{name} %lld\\n", (long long)({name}));')
    lines += ["  return 0;", "}"]
    d = tmp_path_factory.mktemp("abi")
    src, exe = d / "truth.c", d / "truth"
    src.write_text("\n".join(lines) + "\n")
    include = os.path.dirname(os.path.dirname(HEADER))
    r = subprocess.run([cc, "-std=c11", "-I", include, str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    # A mirror naming a field C does not have fails here, with the compiler's words.
    assert r.returncode == 0, f"the layout probe does not compile against windowagg.h:\n{r.stderr}"
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    truth: Dict[str, int] = {}
    for line in out.splitlines():
        key, _, value = line.rpartition(" ")
        truth[key] = int(value)
    return truth


def test_every_exported_function_has_a_prototype() -> None:
    declared = _header_functions()
    missing = [fn for fn in declared if fn not in L._PROTOTYPES]
    assert not missing, f"windowagg.h functions without a prototype in _lib.py: {missing}"
    stale = [fn for fn in L._PROTOTYPES if fn not in declared]
    assert not stale, f"_lib.py declares prototypes windowagg.h does not: {stale}"
    for fn in declared:
        f = getattr(L.lib, fn)
        assert f.argtypes is not None, f"{fn}: argtypes not set"
        restype, argtypes = L._PROTOTYPES[fn]
        assert f.restype is restype, f"{fn}: restype not set"


def test_prototypes_match_header_arity() -> None:
    """argtypes has one entry per parameter of the C declaration."""
    text = re.sub(r"/\*.*?\*/", "", _header(), flags=re.S)
    for m in re.finditer(r"AGGREGATOR_API[^;(#]*?\b(aggregator_\w+)\s*\(([^)]*)\)\s*;", text):
        fn, params = m.group(1), m.group(2).strip()
        n = 0 if params in ("", "void") else params.count(",") + 1
        assert len(L._PROTOTYPES[fn][1]) == n, f"{fn}: {n} parameters in C, {len(L._PROTOTYPES[fn][1])} argtypes"


def test_every_header_struct_is_mirrored_or_listed() -> None:
    mirrored = {c for _, c in MIRRORS}
    for name in re.findall(r"typedef struct (aggregator\w*)", _header()):
        assert name in mirrored or name in NOT_MIRRORED, (
            f"windowagg.h declares struct {name}: mirror it in _lib.py (and MIRRORS) or list it in NOT_MIRRORED")


@pytest.mark.parametrize("cls,cname", MIRRORS, ids=[c for _, c in MIRRORS])
def test_struct_layout_matches_c(c_truth: Dict[str, int], cls: type, cname: str) -> None:
    assert ctypes.sizeof(cls) == c_truth[f"sizeof {cname}"], f"sizeof {cls.__name__} vs {cname}"
    assert ctypes.alignment(cls) == c_truth[f"alignof {cname}"], f"alignment of {cls.__name__}"
    for fname, _ in cls._fields_:
        field = getattr(cls, fname)
        assert field.offset == c_truth[f"offsetof {cname} {fname}"], f"{cls.__name__}.{fname} offset"
        assert field.size == c_truth[f"sizeof {cname} {fname}"], f"{cls.__name__}.{fname} size"


def test_numpy_page_dtype_matches_c(c_truth: Dict[str, int]) -> None:
    assert L.KEY_STATS_DTYPE.itemsize == c_truth["sizeof aggregator_key_stats"]
    base = c_truth["offsetof aggregator_key_stats stats"]
    for fname, _ in L.Stats._fields_:
        assert L.KEY_STATS_DTYPE.fields[fname][1] == base + c_truth[f"offsetof aggregator_stats {fname}"], fname


def test_numpy_ex_page_dtype_matches_c(c_truth: Dict[str, int]) -> None:
    """The record of aggregator_list_stats_ex / aggregator_poll_windows_ex."""
    for cname in ("aggregator_key_stats_ex", "aggregator_window_ex"):
        assert L.KEY_STATS_EX_DTYPE.itemsize == c_truth[f"sizeof {cname}"]
        ex = c_truth[f"offsetof {cname} stats"]
        assert L.KEY_STATS_EX_DTYPE.fields["key"][1] == c_truth[f"offsetof {cname} key"]
        assert L.KEY_STATS_EX_DTYPE.fields["struct_size"][1] == ex + c_truth["offsetof aggregator_stats_ex struct_size"]
        base = ex + c_truth["offsetof aggregator_stats_ex stats"]
        for fname, _ in L.Stats._fields_:
            assert L.KEY_STATS_EX_DTYPE.fields[fname][1] == base + c_truth[f"offsetof aggregator_stats {fname}"], fname
        for fname in L.EX_FIELDS:
            assert L.KEY_STATS_EX_DTYPE.fields[fname][1] == ex + c_truth[f"offsetof aggregator_stats_ex {fname}"], fname


def test_every_enumerator_matches_c(c_truth: Dict[str, int]) -> None:
    py = _python_enumerators()
    for name in _header_enumerators():
        assert name in py, f"windowagg.h enumerator {name} has no value in the Python binding"
        assert py[name] == c_truth[name], f"{name}: {py[name]} in Python, {c_truth[name]} in C"
    assert windowagg.DEFAULT_KEY == 0 and windowagg.OVERFLOW_KEY == 2**64 - 1


def test_status_classes_cover_every_error_status(c_truth: Dict[str, int]) -> None:
    for name in _header_enumerators():
        if re.fullmatch(r"AGGREGATOR_E[A-Z]+", name):
            assert c_truth[name] in E._BY_STATUS, f"no exception class for {name}"
            assert E._BY_STATUS[c_truth[name]].status == c_truth[name]
