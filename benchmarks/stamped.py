#!/usr/bin/env python3
"""Runs a command, copies its stdout to a file and records its stderr as it
arrives, each chunk with the seconds since the command started (JSON lines:
{"t": seconds, "text": chunk}). scripts/bench.sh runs the GC showdown through
it with GODEBUG=gctrace=1, so the report can place every GC cycle and every
side's phases on one time axis.

usage: stamped.py STDOUT_FILE STDERR_JSONL -- command args...
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out_path, err_path, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def pump_out() -> None:
            for chunk in iter(lambda: p.stdout.read1(65536), b""):
                out.write(chunk)
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()

        th = threading.Thread(target=pump_out, daemon=True)
        th.start()
        fd = p.stderr.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            t = time.monotonic() - t0
            text = chunk.decode("utf-8", "replace")
            err.write(json.dumps({"t": round(t, 6), "text": text}) + "\n")
            # progress on the console, without the gctrace flood
            for line in text.splitlines(keepends=True):
                if not line.startswith("gc "):
                    sys.stderr.write(line)
            sys.stderr.flush()
        th.join()
        return p.wait()


if __name__ == "__main__":
    sys.exit(main())
