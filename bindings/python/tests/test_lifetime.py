"""The lifetime guard (issue 12, item 2): close() while other threads are inside
calls, and a threading="single" handle used from two threads.

Before the guard, close() during a push freed the state under the running call
(the process aborted with "Mutex corrupt" or crashed), and two threads in a
single-threaded handle corrupted it (segfault). Each scenario runs in a child
interpreter, so a crash fails the test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)

PRELUDE = """
import gc, sys, threading, time
import numpy as np
import windowagg
from windowagg import Aggregator, ClosedError, ConcurrentUseError

def big_batch(n):
    rng = np.random.default_rng(n)
    return rng.random(n), (np.arange(n, dtype=np.uint64) % 5000)

# A thread's clock reading right after a call returns can lag the end of the
# library call by a scheduling delay; timing checks allow this much.
MARGIN = 0.05

def overlapping_rounds(scenario, want=2, tries=8, n=100_000):
    # Runs scenario(n) until it reports `want` rounds in which the long call
    # was still running when the other thread acted, doubling n when the
    # machine was too fast for an overlap.
    got = 0
    for _ in range(tries):
        if scenario(n):
            got += 1
            if got == want:
                return
        else:
            n *= 2
    raise SystemExit(f"no overlap in {tries} tries (got {got}); machine too fast?")
"""


def run_child(body: str, timeout: float = 300) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    code = PRELUDE + textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, (
        f"child exited with {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
    )
    return p.stdout


def test_close_waits_for_a_running_push_then_calls_raise_closed() -> None:
    out = run_child("""
        def scenario(n):
            vals, keys = big_batch(n)
            agg = Aggregator(window="count", size=10_000)
            t = {}
            started = threading.Event()
            def pusher():
                started.set()
                t["push_start"] = time.perf_counter()
                agg.push(vals, keys=keys)           # must complete: close waits for it
                t["push_end"] = time.perf_counter()
            th = threading.Thread(target=pusher)
            th.start()
            started.wait()
            time.sleep(0.02)
            t["close_start"] = time.perf_counter()
            agg.close()
            t["close_end"] = time.perf_counter()
            th.join()
            assert "push_end" in t, "the push did not complete"
            overlap = t["push_end"] - t["close_start"] > 2 * MARGIN
            if overlap:
                # close() returned only after the running push had returned
                assert t["close_end"] >= t["push_end"] - MARGIN, t
            try:
                agg.push(vals[:10])
            except ClosedError:
                pass
            else:
                raise AssertionError("push after close did not raise ClosedError")
            agg.close()  # twice: fine
            return overlap
        overlapping_rounds(scenario)
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_close_while_many_threads_call_and_close() -> None:
    """Readers, writers and several closers at once: every call either completes
    or raises ClosedError, nothing crashes."""
    out = run_child("""
        for rnd in range(20):
            vals, keys = big_batch(20_000)
            agg = Aggregator(time_unit="ns", window="tumbling", size=1000, threading="shared")
            errors, closed = [], []
            go = threading.Barrier(7)
            def call(fn):
                go.wait()
                for _ in range(200):
                    try:
                        fn()
                    except ClosedError:
                        closed.append(1)
                        return
                    except BaseException as e:
                        errors.append(repr(e))
                        return
            def closer():
                go.wait()
                time.sleep(0.001 * (rnd % 5))
                agg.close()
            ts = np.arange(len(vals), dtype=np.int64)
            fns = [lambda: agg.push(vals, timestamps=ts, keys=keys), agg.stats,
                   lambda: agg.all_stats(quantiles=[0.5], page=100), agg.to_bytes,
                   lambda: (agg.advance(10**6), agg.poll_windows())]
            threads = [threading.Thread(target=call, args=(f,)) for f in fns]
            threads += [threading.Thread(target=closer) for _ in range(2)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert not errors, errors
            assert agg.closed
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_single_threaded_handle_refuses_a_second_thread() -> None:
    out = run_child("""
        def scenario(n):
            vals, keys = big_batch(n)
            agg = Aggregator(window="count", size=10**7, threading="single")
            started, done = threading.Event(), threading.Event()
            t = {}
            def pusher():
                started.set()
                try:
                    agg.push(vals, keys=keys)
                    t["push_end"] = time.perf_counter()
                except ConcurrentUseError:
                    t["pusher_refused"] = True
                finally:
                    done.set()
            th = threading.Thread(target=pusher)
            th.start()
            started.wait()
            while not agg._users and not done.is_set():  # until the pusher is inside
                time.sleep(0)
            refused = accepted = 0
            overlap = False
            calls = [lambda: agg.push(np.ones(10), keys=np.zeros(10, np.uint64)),
                     agg.stats, agg.all_stats, agg.to_bytes, agg.key_count]
            while not done.is_set():
                for c in calls:
                    # The pusher makes one call: if its entry is in the guard
                    # both before and after ours, ours ran during it and must
                    # have been refused (no timing assumptions).
                    before = len(agg._users)
                    try:
                        c()
                        ok = True
                        if c is calls[0]:
                            accepted += 1
                    except ConcurrentUseError as e:
                        ok = False
                        refused += 1
                        assert isinstance(e, windowagg.WindowaggError) and isinstance(e, RuntimeError)
                        assert "single" in str(e)
                    if before == 1 and len(agg._users) == 1 and "push_end" not in t:
                        overlap = True
                        assert not ok, "a call during another thread's call was not refused"
            th.join()
            # nothing half-applied: the state holds the big batch (unless it
            # was the call refused) plus the accepted pushes
            s = agg.stats()
            big = n if "push_end" in t else 0
            assert s.total == big + 10 * accepted, (s.total, n, accepted)
            agg.close()
            return overlap
        overlapping_rounds(scenario)
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_single_threaded_close_waits_and_sequential_use_from_threads_is_fine() -> None:
    """One thread after another may use a single-threaded handle; close() from
    another thread waits for the running call (refusing nothing)."""
    out = run_child("""
        agg = Aggregator(window="count", size=1000, threading="single")
        for i in range(4):  # strictly one after another, from different threads
            th = threading.Thread(target=agg.push, args=(np.full(10, float(i)),))
            th.start(); th.join()
        assert agg.stats().total == 40
        def scenario(n):
            vals, keys = big_batch(n)
            a = Aggregator(window="count", size=10_000, threading="single")
            t, errors = {}, []
            started = threading.Event()
            def pusher():
                started.set()
                try:
                    a.push(vals, keys=keys)
                except BaseException as e:
                    errors.append(repr(e))
                t["push_end"] = time.perf_counter()
            th = threading.Thread(target=pusher)
            th.start(); started.wait(); time.sleep(0.02)
            t["close_start"] = time.perf_counter()
            a.close()
            t["close_end"] = time.perf_counter()
            th.join()
            assert not errors, errors
            overlap = t["push_end"] - t["close_start"] > 2 * MARGIN
            if overlap:
                assert t["close_end"] >= t["push_end"] - MARGIN, t
            return overlap
        overlapping_rounds(scenario)
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_merge_guards_both_handles() -> None:
    """merge(other) reads other's state: closing other meanwhile waits for the
    merge, and a merge from a closed handle raises ClosedError."""
    out = run_child("""
        def scenario(n):
            vals, keys = big_batch(n)
            src = Aggregator(window="count", size=10_000)
            src.push(vals, keys=keys)
            dst = Aggregator(window="count", size=10_000)
            t, errors = {}, []
            started = threading.Event()
            def merger():
                started.set()
                try:
                    dst.merge(src)
                except ClosedError:
                    pass
                except BaseException as e:
                    errors.append(repr(e))
                t["merge_end"] = time.perf_counter()
            th = threading.Thread(target=merger)
            th.start(); started.wait(); time.sleep(0.005)
            t["close_start"] = time.perf_counter()
            src.close()
            t["close_end"] = time.perf_counter()
            th.join()
            assert not errors, errors
            overlap = t["merge_end"] - t["close_start"] > 2 * MARGIN
            if overlap:
                assert t["close_end"] >= t["merge_end"] - MARGIN, t
                assert dst.stats().total == n  # the merge completed
            try:
                dst.merge(src)
            except ClosedError:
                pass
            else:
                raise AssertionError("merge from a closed handle did not raise")
            dst.close()
            return overlap
        overlapping_rounds(scenario, n=400_000)
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_garbage_collected_while_a_thread_pushes() -> None:
    """Dropping the last reference while another thread is inside a call never
    frees under it (the running call holds the object); the finalizer frees later."""
    out = run_child("""
        vals, keys = big_batch(100_000)
        for i in range(4):
            agg = Aggregator(window="count", size=10_000, threading=("shared", "single")[i % 2])
            th = threading.Thread(target=agg.push, args=(vals,), kwargs={"keys": keys})
            th.start()
            del agg
            gc.collect()
            th.join()
            gc.collect()
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_concurrent_use_error_in_hierarchy() -> None:
    assert issubclass(__import__("windowagg").ConcurrentUseError, RuntimeError)
    assert "ConcurrentUseError" in __import__("windowagg").__all__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
