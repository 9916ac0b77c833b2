"""Shared by the Spark tests: finding a Java runtime for PySpark."""

from __future__ import annotations

import glob
import os
import shutil


def find_java() -> bool:
    """True if a Java runtime is available (``JAVA_HOME``, ``java`` on
    ``PATH``, or one under ``/usr/lib/jvm``, which then becomes JAVA_HOME)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return True
    if shutil.which("java"):
        return True
    for cand in sorted(glob.glob("/usr/lib/jvm/*/bin/java")):
        if os.access(cand, os.X_OK):
            os.environ["JAVA_HOME"] = os.path.dirname(os.path.dirname(cand))
            return True
    return False


NO_JAVA = ("Java is missing: no JAVA_HOME, no java on PATH, nothing under /usr/lib/jvm "
           "(Spark needs a Java 17+ runtime)")
