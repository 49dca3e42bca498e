"""The check list shared by check_install.py and check_packages.py: one line per check, a summary."""
import sys
import time

T0 = time.monotonic()
failures = []


def check(ok, what):
    """Prints 'ok' or 'FAIL' with the seconds since start and `what`; returns ok."""
    print(("ok   " if ok else "FAIL ") + f"[{time.monotonic() - T0:5.0f} s] " + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def finish(name):
    """The exit status: 0 when every check held, else 1 with the count on stderr."""
    if failures:
        print(f"{name}: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{name}: all checks passed")
    return 0
