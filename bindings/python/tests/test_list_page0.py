"""Listing with a page of 0 entries ends with an error (issue 12 #13).

aggregator_list_keys / aggregator_list_stats with cap 0 used to return no
entry and never set `done`, so ``keys(page=0)`` looped forever.
"""

from __future__ import annotations

import numpy as np
import pytest

import windowagg
from windowagg import Aggregator


def test_keys_with_page_0_is_refused_naming_page() -> None:
    with Aggregator() as agg:
        agg.push(np.array([1.0, 2.0]), keys=np.array([1, 2], dtype=np.uint64))
        with pytest.raises(windowagg.InvalidArgumentError, match="page"):
            agg.keys(page=0)
        assert sorted(agg.keys(page=1).tolist()) == [1, 2]
