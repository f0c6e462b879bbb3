#!/usr/bin/env python3
"""What backtraces cost when no error happens: the same work timed on two checkouts, side by
side (e.g. the commit before backtraces and the one with them).

    python bench/error_cost.py BEFORE_DIR AFTER_DIR [--rounds N]

Each measurement runs in a fresh process with PYTHONPATH set to the checkout and its own
empty cache folder, rounds alternating between the two sides, and the best (lowest) CPU time
of each side is kept (CPU time: the machine may be shared; the best of several: noise only
ever adds). The work:

  run      error-free Forth in a bare Machine, mostly generated code: fib 23 twice,
           a DO loop of 300 000 passes, 2 000 000 calls in threaded code (jit off)
  compile  the generic layer forth/of.fs compiled from its sources (no dictionary cache):
           what the outer interpreter notes per source line
  codegen  2 000 definitions given generated code (their lines tagged with their cells)
  boot     boot_machine() on the default seed, the dictionary from the cache
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time, sys
from slofpy import Machine
from slofpy.firmware import Firmware
from slofpy.firmware.board import boot_machine

def cpu(f):
    t = time.process_time(); f(); return time.process_time() - t

out = {}
m = Machine()
m.evaluate("decimal : fib dup 2 < if exit then dup 1- recurse swap 2 - recurse + ; "
           ": lp 0 300000 0 do i xor loop drop ; : c1 1+ ; : c2 c1 c1 ; "
           ": many 0 1000000 0 do c2 loop drop ;")
m.evaluate("5 fib drop")     # warm: fib gets generated code
t = cpu(lambda: m.evaluate("23 fib drop 23 fib drop lp"))
m.vm.jit_enabled = False
m.vm.jit_code.clear()
t += cpu(lambda: m.evaluate("many"))
out["run"] = t
out["compile"] = cpu(lambda: Firmware(dictionary_cache=False))
m = Machine()
defs = " ".join(f": w{i} {i} 2 * 1+ drop ;" for i in range(2000))
m.evaluate(defs)
try:
    from slofpy.vm.codegen.generate import compile_definition
except ImportError:         # a checkout from before the codegen package
    from slofpy.vm.jit import compile_definition
from slofpy.vm.dictionary import find
xts = [find(m.vm, f"w{i}".encode())[0] for i in range(2000)]
out["codegen"] = cpu(lambda: [compile_definition(m.vm, x) for x in xts])
Firmware()            # the prepared dictionaries into the cache first
boot_machine()
out["boot"] = cpu(lambda: boot_machine())
print(json.dumps(out))
"""


def measure(checkout: str, cache: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=checkout, XDG_CACHE_HOME=cache)
    env.pop("SLOFPY_NO_DICT_CACHE", None)
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                       env=env, cwd=checkout, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    best: dict[str, dict[str, float]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory(prefix="slofpy-error-cost-") as scratch:
        for k in range(args.rounds):
            for side in ("before", "after"):
                cache = os.path.join(scratch, f"{side}-{k}")
                got = measure(getattr(args, side), cache)
                for name, value in got.items():
                    best[side][name] = min(best[side].get(name, value), value)
    print("| work | before s | after s | after / before |")
    print("|---|---:|---:|---:|")
    for name in best["before"]:
        b, a = best["before"][name], best["after"][name]
        print(f"| {name} | {b:.3f} | {a:.3f} | {a / b:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
