"""A local S3-compatible server for the trail_events stream: s3s-fs (installed by
scripts/setup.sh into .tools/) serving a temporary directory, seeded with CloudTrail log files
by the emulator's corpus generator. Used by the tests and the demo."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATOR_BIN = os.path.join(ROOT, "target", "release", "cloudtrail-emulator")
S3S_FS_BIN = os.environ.get("S3S_FS_BIN", os.path.join(ROOT, ".tools", "bin", "s3s-fs"))
S3_KEY_ID = "AKIAS3LOCALTEST00001"
S3_SECRET = "s3-local-secret/0000000000000000000000"
BUCKET = "trail-logs"


class S3:
    """s3s-fs serving a temporary directory as the bucket `trail-logs`."""

    def __init__(self):
        if not os.path.exists(S3S_FS_BIN):
            raise RuntimeError(f"{S3S_FS_BIN} is missing: scripts/setup.sh installs it")
        self.root = tempfile.mkdtemp(prefix="s3-")
        os.makedirs(os.path.join(self.root, BUCKET))
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.proc = subprocess.Popen(
                [S3S_FS_BIN, "--host", "127.0.0.1", "--port", str(port), "--access-key", S3_KEY_ID,
                 "--secret-key", S3_SECRET, self.root],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.endpoint = f"http://127.0.0.1:{port}"
                    return
                except OSError:
                    time.sleep(0.02)
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("s3s-fs did not start")

    def seed(self, *args):
        """Generates log files (cloudtrail-emulator s3-corpus ARGS); returns {key: [event ids]}."""
        manifest = os.path.join(self.root, f"manifest-{time.monotonic_ns()}.jsonl")
        out = subprocess.run([EMULATOR_BIN, "s3-corpus", "--root", self.root, "--bucket", BUCKET,
                              "--manifest", manifest, *args], check=True, capture_output=True, text=True)
        # {"event_files", "other_files", "events", "uncompressed_bytes", "compressed_bytes"}
        self.summary = json.loads(out.stdout)
        with open(manifest) as f:
            files = [json.loads(line) for line in f]
        return {f["key"]: f["event_ids"] for f in files}

    def trail_logs(self, **extra):
        return {"bucket": BUCKET, "endpoint_url": self.endpoint, "aws_key_id": S3_KEY_ID,
                "aws_secret_key": S3_SECRET, **extra}

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
