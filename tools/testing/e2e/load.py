"""Loopback HTTP load: a thread pool of keep-alive `http.client` connections that records every response."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    """One request's outcome (status 0 means the connection failed)."""

    index: int
    status: int
    seconds: float
    body: bytes
    error: str = ""


@dataclass(frozen=True)
class LoadResult:
    """Every response of one run, plus the wall time."""

    responses: list[Response]
    wall_seconds: float

    @property
    def ok(self) -> list[Response]:
        return [r for r in self.responses if 200 <= r.status < 300]

    @property
    def failed(self) -> list[Response]:
        return [r for r in self.responses if not 200 <= r.status < 300]

    def statuses(self) -> dict[int, int]:
        """How many responses had each status."""
        return dict(Counter(r.status for r in self.responses))

    def percentile(self, p: float) -> float:
        """Latency percentile (seconds) of the successful requests, nearest-rank."""
        values = sorted(r.seconds for r in self.ok)
        if not values:
            return float("nan")
        rank = max(1, round(p / 100 * len(values)))
        return values[min(rank, len(values)) - 1]

    @property
    def rate(self) -> float:
        """Successful requests per second over the whole run."""
        return len(self.ok) / self.wall_seconds if self.wall_seconds else 0.0


def post_json(url: str, count: int, concurrency: int, payload=lambda i: {"n": i}, timeout: float = 60,
              start_index: int = 0, rate: float | None = None) -> LoadResult:
    """POST ``count`` JSON bodies to ``url`` with ``concurrency`` keep-alive connections; never raises per request.

    Closed loop by default (each connection sends its next request when the last one answered). With ``rate``
    (requests/s) the load is open loop: request i is due at i/rate seconds, and its latency counts from that due
    time, so a server that falls behind shows its queueing delay instead of slowing the client down.
    """
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    local = threading.local()

    def conn() -> http.client.HTTPConnection:
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        return local.conn

    def one(n: int) -> Response:
        i = start_index + n
        body = json.dumps(payload(i)).encode()
        started = time.perf_counter()
        if rate is not None:
            due = begin + n / rate
            time.sleep(max(0.0, due - started))
            started = due
        try:
            c = conn()
            c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.getheader("connection", "").lower() == "close":
                c.close()
                local.conn = None
            return Response(i, r.status, time.perf_counter() - started, data)
        except (OSError, http.client.HTTPException) as e:
            if getattr(local, "conn", None) is not None:
                local.conn.close()
                local.conn = None
            return Response(i, 0, time.perf_counter() - started, b"", f"{type(e).__name__}: {e}")

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        responses = list(pool.map(one, range(count)))
    return LoadResult(responses, time.perf_counter() - begin)
