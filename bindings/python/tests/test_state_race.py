"""to_bytes racing advance / poll_windows on the same handle (issue 12 #1, #3).

The library used to size the state and then write it, each pass closing the
windows of its own watermark: a concurrent advance made it write past the
buffer, a concurrent poll left trailing bytes that from_bytes refused.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from windowagg import Aggregator


@pytest.mark.parametrize("mode", ["advance", "poll"])
def test_to_bytes_racing_advance_and_poll_is_whole(mode: str) -> None:
    n = 20000
    keys = np.arange(n, dtype=np.uint64)
    vals = (np.arange(n) % 17).astype(np.float64)
    took = 0.002
    with Aggregator(window="tumbling", size=10, time_unit="ns", max_pending_windows=1 << 26) as agg:
        for r in range(14):
            base = r * 10
            agg.push(vals, timestamps=np.full(n, base + 1, dtype=np.int64), keys=keys)
            if mode == "poll":
                agg.advance(base + 10)
                agg.pending_windows()  # closes them into the queue

            # Land anywhere inside to_bytes (sizing, then writing): spread the
            # racer's start over how long a to_bytes takes.
            delay = (r % 7) / 6 * took

            def racer() -> None:
                time.sleep(delay)
                if mode == "poll":
                    agg.poll_windows()
                else:
                    agg.advance(base + 10)

            th = threading.Thread(target=racer)
            t0 = time.perf_counter()
            th.start()
            blob = agg.to_bytes()
            took = time.perf_counter() - t0
            th.join()
            assert int.from_bytes(blob[8:16], "little") == len(blob), f"round {r}"
            Aggregator.from_bytes(blob).close()
            agg.poll_windows()
