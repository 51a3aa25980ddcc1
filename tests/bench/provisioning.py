"""Provisioning latency: how long until an instance is ready and a credential works.

Starts `omnibus dev` on free ports in a temporary directory, signs up, then for
each of COUNT rounds creates an instance (the 201 answer says `ready` only once
the fleet has applied it) and a credential, and reports percentiles of both
calls. Standard library only.

usage: python3 tests/bench/provisioning.py [--bin PATH] [--count N]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, path, body, token=None):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "omnibus"))
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="omnibus-bench-")
    http, mqtt, grpc = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [args.bin, "dev", "--data-dir", data, "--http-listen", f"127.0.0.1:{http}",
         "--mqtt-listen", f"127.0.0.1:{mqtt}", "--grpc-listen", f"127.0.0.1:{grpc}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        token = call(base, "/v1/auth/signup", {
            "email": "bench@example.com", "password": "a long passphrase", "organization_name": "Bench"})["access_token"]
        instance_ms, credential_ms = [], []
        for i in range(args.count):
            started = time.perf_counter()
            instance = call(base, "/v1/instances", {"name": f"bench-{i}", "plan": "developer"}, token)
            instance_ms.append((time.perf_counter() - started) * 1000)
            assert instance["status"] == "ready", instance
            started = time.perf_counter()
            call(base, f"/v1/instances/{instance['id']}/credentials", {"name": "bench"}, token)
            credential_ms.append((time.perf_counter() - started) * 1000)
        for name, samples in (("create instance -> ready", instance_ms), ("create credential -> applied", credential_ms)):
            print(f"{name}: n={len(samples)} p50={statistics.median(samples):.1f} ms "
                  f"p99={percentile(samples, 99):.1f} ms max={max(samples):.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
