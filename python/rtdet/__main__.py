"""python3 -m rtdet COMMAND ...: the rtdet command line (detect, bench, build, info, ...), run by the
same C++ code as the rtdet binary in this process; `python3 -m rtdet --help` lists the commands."""
import signal
import sys

from ._rtdet import _cli


def main(argv=None):
    # Ctrl-C stops the command as it stops rtdet (Python's handler would wait for the C++ code to return).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _cli(["python3 -m rtdet"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
