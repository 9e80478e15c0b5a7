"""klog-style log lines on stderr ("I1125 23:02:03.219216   12345 file.go:42] message")."""

import datetime
import os
import sys

_VERBOSITY = [0]


def set_verbosity(level):
    try:
        _VERBOSITY[0] = int(level)
    except (TypeError, ValueError):
        _VERBOSITY[0] = 0


def verbosity():
    return _VERBOSITY[0]


def line(severity, message, where="lab.go:1"):
    now = datetime.datetime.now()
    return "%s%s %s %7d %s] %s" % (
        severity, now.strftime("%m%d"), now.strftime("%H:%M:%S.%f"), os.getpid(), where, message)


def _emit(severity, message, where):
    sys.stderr.write(line(severity, message, where) + "\n")
    sys.stderr.flush()


def info(message, where="lab.go:1"):
    _emit("I", message, where)


def v(level, message, where="lab.go:1"):
    if _VERBOSITY[0] >= level:
        _emit("I", message, where)


def warning(message, where="lab.go:1"):
    _emit("W", message, where)


def error(message, where="lab.go:1"):
    _emit("E", message, where)
