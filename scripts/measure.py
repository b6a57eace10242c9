"""Measuring a child process for the benchmarks."""
import threading
import time


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
