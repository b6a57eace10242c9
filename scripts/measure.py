"""Measuring a child process for the benchmarks."""
import os
import subprocess
import sys
import threading
import time

RECORD = b'{"type":"RECORD"'


class PeakRss:
    """Peak resident memory of a child after its exec: VmHWM from /proc, polled until it exits.
    (getrusage's ru_maxrss would also count the pages of this Python process the child had
    between fork and exec.)"""

    def __init__(self, pid):
        self.pid, self.kb = pid, 0
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while True:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.kb = max(self.kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                return
            time.sleep(0.02)

    def mb(self):
        self.thread.join(timeout=1)
        return self.kb / 1024


def read_counting(argv):
    """Runs a connector `read` (argv), counting RECORD lines on the fly as a destination would
    read them; returns (records, wall s, CPU s of the child, peak RSS MB). Exits on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    peak = PeakRss(proc.pid)
    records, tail = 0, b""
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        data = tail + chunk
        records += data.count(RECORD)
        tail = data[-(len(RECORD) - 1):]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"read failed with status {status}")
    return records, wall, usage.ru_utime + usage.ru_stime, peak.mb()
