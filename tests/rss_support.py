"""Measuring memory from the test side: run Python code in a child process and read its
peak resident set size (the kernel's high-water mark, VmHWM), so a test can assert that
memory stays bounded without timing anything."""
from __future__ import annotations

import subprocess
import sys
import textwrap

_WRAPPER = """
import runpy, sys
exec(compile(sys.argv[1], "<test code>", "exec"), {"__name__": "__main__"})
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            print("\\nPEAK-RSS-KB", line.split()[1])
"""


def peak_rss_of(code: str, timeout: float = 120) -> tuple[str, int]:
    """Run `code` in a fresh Python; return (its stdout before the measurement, peak RSS in
    bytes). Fails the test (AssertionError) when the child fails."""
    r = subprocess.run([sys.executable, "-c", _WRAPPER, textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    out, _, peak = r.stdout.rpartition("\nPEAK-RSS-KB ")
    return out, int(peak) * 1024
