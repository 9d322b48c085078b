#!/usr/bin/env python3
"""Fails when a kernel source under cl/ has a floating-point literal without
an f suffix: an unsuffixed 0.5 is a double, which devices without cl_khr_fp64
reject or emulate. Comments are ignored.

usage: lint_cl.py FILE...
"""
import re
import sys

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# A decimal literal with a '.' or an exponent, not followed by an f/F suffix.
FLOAT = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?(?![\w.])")


def main():
    bad = 0
    for path in sys.argv[1:]:
        text = open(path, encoding="utf-8").read()
        code = COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        for n, line in enumerate(code.splitlines(), 1):
            for m in FLOAT.finditer(line):
                print(f"{path}:{n}:{m.start() + 1}: float literal '{m.group(0)}' needs an f suffix")
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
