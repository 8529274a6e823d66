"""The emulator's memory under load: the resident set size (RSS) of a process running an
``AblyEmulator``, before and after each scenario, each in a fresh interpreter:

- ``channels``: one message on each of 100,000 channels (through the service, as the REST
  route calls it, to keep the run short), then the emulator's clock moved past Ably's
  2-minute history;
- ``messages``: 2,000 REST publishes of 60 KB on one channel, then the clock moved on;
- ``stalled``: the same 2,000 publishes while a realtime subscriber of the channel has
  stopped reading its socket.

Figures are RSS in MiB as the kernel reports it (VmRSS). "After aging" is measured once the
emulator's clock has moved 3 minutes on and glibc's ``malloc_trim`` has handed freed heap
memory back, so it shows what the emulator still holds.

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import sys
import time
from datetime import timedelta

SCENARIOS = ("channels", "messages", "stalled")
MESSAGES = 2000
SIZE = 60 * 1024


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def trim() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim), so RSS shows
    what is still held rather than what the allocator keeps for later."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS as it is
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def stalled_subscriber(host: str, port: int, key: str, channel: str) -> socket.socket:
    """A WebSocket client that connects, attaches ``channel`` and then never reads."""
    import json
    import os

    raw = socket.create_connection((host, port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            f"GET /?v=6&format=json&key={key} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    time.sleep(0.3)  # the upgrade and CONNECTED: read once, then never again
    raw.recv(65536)
    payload = json.dumps({"action": 10, "channel": channel}).encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    raw.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    time.sleep(0.3)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return raw


def run(scenario: str) -> None:
    import httpx

    from ably_authkit.testing import AblyEmulator

    with AblyEmulator() as emu:
        key = emu.create_key()
        basic = "Basic " + base64.b64encode(f"{key.name}:{key.secret}".encode()).decode()
        client = httpx.Client(headers={"Authorization": basic}, timeout=30)
        client.get(f"{emu.url}/time")
        before = rss_mib()
        subscriber = None
        if scenario == "channels":
            credential = emu.service.basic(
                base64.b64encode(f"{key.name}:{key.secret}".encode()).decode(), None
            )
            for number in range(100_000):
                with emu.service.lock:
                    emu.service.publish(credential, f"room:{number}", {"data": "x"})
        else:
            if scenario == "stalled":
                subscriber = stalled_subscriber(
                    emu.host, emu.port, f"{key.name}:{key.secret}", "chat:big"
                )
            body = {"name": "m", "data": "x" * SIZE}
            for _ in range(MESSAGES):
                answer = client.post(f"{emu.url}/channels/chat:big/messages", json=body)
                answer.raise_for_status()
        time.sleep(1)
        after = rss_mib()
        live = len(emu.connections)
        emu.advance(timedelta(minutes=3))
        client.post(f"{emu.url}/channels/chat:other/messages", json={"data": "y"})
        time.sleep(1)
        trim()
        aged = rss_mib()
        with emu.service.lock:
            channels = len(emu.service.messages)
        print(
            f"{scenario:<9} RSS before {before:7.1f} MiB  after {after:7.1f} MiB "
            f"(+{after - before:6.1f})  after aging 3 min {aged:7.1f} MiB "
            f"(+{aged - before:6.1f}); channels kept {channels}; live connections {live}"
        )
        client.close()
        if subscriber is not None:
            subscriber.close()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--scenario":
        run(sys.argv[2])
        return
    for scenario in SCENARIOS:
        subprocess.run([sys.executable, __file__, "--scenario", scenario], check=True)


if __name__ == "__main__":
    main()
