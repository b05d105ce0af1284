"""Import time of one library in a fresh interpreter: `python import_probe.py MODULE`.

Kept apart from cell.py so that nothing but modules Python loads at startup is imported
before the library (json, re, typing, ssl... would otherwise be free for the library).
"""

import resource
import sys
import time


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


wall0, cpu0 = time.perf_counter(), cpu()
__import__(sys.argv[1])
wall, cpu1 = time.perf_counter() - wall0, cpu() - cpu0
print(f'{{"count": 1, "wall": {wall!r}, "cpu": {cpu1!r}}}')
