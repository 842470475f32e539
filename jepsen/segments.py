"""After a run, with every broker stopped: are the segment files whole, and what did the brokers
log most? A segment must be a sequence of complete RecordBatch v2 batches with valid CRCs and
increasing offsets up to its last byte (a disk-full fault must not leave a torn or corrupt batch
behind once the broker shut down cleanly); the log summary counts WARN/ERROR lines and finds the
most repeated line (log spam, e.g. a loop) for the report.
"""

import os
import re
import sys

_INTEGRATION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration")
if _INTEGRATION not in sys.path:
    sys.path.insert(0, _INTEGRATION)
import kwire  # noqa: E402


def check_log_dir(log_dir):
    """Problems found in the ``.log`` segments under a broker's log dir (a list of sentences)."""
    problems = []
    if not os.path.isdir(log_dir):
        return problems
    for part in sorted(os.listdir(log_dir)):
        pdir = os.path.join(log_dir, part)
        if not os.path.isdir(pdir) or "-" not in part:
            continue
        last = -1
        for name in sorted(n for n in os.listdir(pdir) if n.endswith(".log")):
            path = os.path.join(pdir, name)
            with open(path, "rb") as f:
                data = f.read()
            end = 0
            for b in kwire.parse_batches(data):
                if not b["crc_valid"]:
                    problems.append("%s: batch at offset %d (byte %d) has a bad CRC" % (path, b["base_offset"],
                                                                                        b["position"]))
                if b["base_offset"] <= last:
                    problems.append("%s: batch at offset %d does not follow offset %d" % (path, b["base_offset"], last))
                last = b["last_offset"]
                end = b["position"] + 12 + b["length"]
            if end != len(data):
                problems.append("%s: %d bytes after the last complete batch (byte %d of %d)" % (
                    path, len(data) - end, end, len(data)))
    return problems


_NUMBERS = re.compile(r"\d+")
_STAMP = re.compile(r"^\[[^\]]*\] ")


def log_summary(path, top=3):
    """{"lines", "warn", "error", "top": [(count, normalized line)]} of a broker's output."""
    counts = {}
    n = warn = error = 0
    try:
        f = open(path, errors="replace")
    except OSError:
        return {"lines": 0, "warn": 0, "error": 0, "top": []}
    with f:
        for line in f:
            n += 1
            body = _STAMP.sub("", line.rstrip("\n"))
            if body.startswith("WARN"):
                warn += 1
            elif body.startswith("ERROR"):
                error += 1
            key = _NUMBERS.sub("N", body)[:200]
            counts[key] = counts.get(key, 0) + 1
    best = sorted(((c, k) for k, c in counts.items()), reverse=True)[:top]
    return {"lines": n, "warn": warn, "error": error, "top": best}
