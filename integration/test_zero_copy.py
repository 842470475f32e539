"""Zero-copy fetch: with the broker running under strace, consuming ~100 MB with kcat must show
sendfile() calls from the partition's .log files whose byte counts cover everything consumed."""

import os
import re
import shutil

import pytest

import harness
from clients import produce_sync

RECORDS = 100_000
VALUE_SIZE = 1024

# 12345 sendfile(14<TCP:[...]>, 27</tmp/.../zc-0/00000000000000000000.log>, [1048576] => [2097152], 1048576) = 1048576
# and the split form of a call interrupted by another thread's syscall:
# 12345 <... sendfile resumed>[1048576] => [2097152], 1048576) = 1048576
CALL = re.compile(r"sendfile\((?P<out>\d+)(?:<[^>]*>)?, (?P<in>\d+)(?:<(?P<path>[^>]*)>)?, .*\)\s+=\s+(?P<n>-?\d+)")
UNFINISHED = re.compile(r"^(?P<pid>\d+)\s+sendfile\((?P<out>\d+)(?:<[^>]*>)?, (?P<in>\d+)(?:<(?P<path>[^>]*)>)?, .*<unfinished \.\.\.>")
RESUMED = re.compile(r"^(?P<pid>\d+)\s+<\.\.\. sendfile resumed>.*\)\s+=\s+(?P<n>-?\d+)")


def sendfile_bytes_by_file(trace_path):
    """Sums successful sendfile return values, keyed by the input file's path."""
    totals = {}
    pending = {}
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = UNFINISHED.search(line)
            if m:
                pending[m.group("pid")] = m.group("path") or m.group("in")
                continue
            m = RESUMED.search(line)
            if m:
                path = pending.pop(m.group("pid"), "?")
                n = int(m.group("n"))
            else:
                m = CALL.search(line)
                if not m:
                    continue
                path = m.group("path") or m.group("in")
                n = int(m.group("n"))
            if n > 0:
                totals[path] = totals.get(path, 0) + n
    return totals


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_fetch_uses_sendfile(cluster_factory, tmp_path):
    trace = str(tmp_path / "sendfile.trace")
    # --seccomp-bpf: only sendfile stops the tracee, so the broker runs at nearly full speed
    wrapper = ["strace", "-f", "-qq", "--seccomp-bpf", "-y", "-e", "trace=sendfile", "-e", "signal=none", "-o", trace]
    c = cluster_factory(wrapper=wrapper)
    b = c.brokers[1]
    topic = "zc"
    c.create_topic(topic, partitions=1)

    value = os.urandom(VALUE_SIZE // 2).hex().encode()
    produce_sync(b.bootstrap, topic, ((None, value) for _ in range(RECORDS)), partition=0, timeout=600,
                 **{"linger.ms": 20, "batch.size": 1_000_000, "compression.type": "none"})

    before = sendfile_bytes_by_file(trace) if os.path.exists(trace) else {}
    p = harness.kcat("-b", b.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e",
                     "-c", str(RECORDS), "-f", "%S\n", "-X", "broker.address.family=v4", timeout=600)
    sizes = [int(x) for x in p.stdout.split()]
    assert len(sizes) == RECORDS
    consumed = sum(sizes)
    assert consumed == RECORDS * VALUE_SIZE

    after = sendfile_bytes_by_file(trace)
    sent = {path: n - before.get(path, 0) for path, n in after.items()}
    from_log = sum(n for path, n in sent.items() if re.search(rf"/{topic}-0/\d{{20}}\.log$", path))
    assert from_log >= consumed, (
        f"sendfile moved {from_log} bytes from {topic}-0 segment files but {consumed} value bytes were consumed; "
        f"sendfile totals by input file: {sent}")
