"""Liveness of n8n processes: restart what n8n itself would never restart, and nothing during a short failover.

n8n 2.40.7 keeps a process alive forever when its database connection is gone (its connection monitor retries
without end, ``/healthz`` stays 200; only ``/healthz/readiness`` turns 503), and a worker whose queue consumer
stopped after a Redis blip keeps answering both. So:

- **main and webhook processors**: liveness on the readiness path, failing only after :data:`BROKEN_BOUND_SECONDS`
  of consecutive failures (the startup probe waits for readiness, so migrations never count);
- **workers**: an exec probe (:data:`WORKER_LIVENESS_JS`, plain Node, no dependencies) that fails when the worker's
  readiness fails *or* the queue has jobs waiting while no job at all is active (no worker takes work), for the
  same bound.

The bound: longer than every failover the platform expects to ride out (RDS Multi-AZ 60-120 s, Patroni TTL 30 s,
ElastiCache 60 s, and n8n's own wait for a rebuilt pool, ``DB_CONNECTION_ACQUISITION_TIMEOUT_MS`` = 120 s), short
enough that a process whose connection never comes back is replaced within minutes.
"""

from __future__ import annotations

import math
from typing import Any

from .env import READINESS_PATH

BROKEN_BOUND_SECONDS = 180
"""How long a connection may stay broken (or the queue stalled) before the process is restarted."""

HTTP_PERIOD_SECONDS = 10
WORKER_PERIOD_SECONDS = 30
"""The worker probe starts a Node process (~40 MB for ~0.2 s): every 30 s, not every 10."""
PROBE_TIMEOUT_SECONDS = 10

WORKER_LIVENESS_JS = r"""
const fs = require('fs'), http = require('http'), net = require('net'), tls = require('tls');
const e = process.env;
const done = (code, why) => { console.log(why); process.exit(code); };
setTimeout(() => done(0, 'probe timed out: no verdict'), 8000).unref();
const ready = () => new Promise((resolve) => {
  const req = http.get({ host: '127.0.0.1', port: e.QUEUE_HEALTH_CHECK_PORT, path: '__READINESS__', timeout: 4000 },
    (res) => { res.resume(); resolve(res.statusCode === 200); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve(false));
});
const bulk = (args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
const queue = () => new Promise((resolve) => {
  const prefix = `${e.QUEUE_BULL_PREFIX || 'bull'}:jobs`;
  const cmds = [];
  if (e.QUEUE_BULL_REDIS_PASSWORD_FILE) {
    const password = fs.readFileSync(e.QUEUE_BULL_REDIS_PASSWORD_FILE, 'utf8').trim();
    cmds.push(e.QUEUE_BULL_REDIS_USERNAME ? ['AUTH', e.QUEUE_BULL_REDIS_USERNAME, password] : ['AUTH', password]);
  }
  cmds.push(['SELECT', e.QUEUE_BULL_REDIS_DB || '0'], ['LLEN', `${prefix}:wait`], ['LLEN', `${prefix}:active`]);
  const opts = { host: e.QUEUE_BULL_REDIS_HOST, port: Number(e.QUEUE_BULL_REDIS_PORT || 6379) };
  const sni = net.isIP(opts.host) ? {} : { servername: opts.host };
  const sock = e.QUEUE_BULL_REDIS_TLS === 'true' ? tls.connect({ ...opts, ...sni }) : net.connect(opts);
  let buf = '';
  sock.setTimeout(4000, () => { sock.destroy(); resolve(null); });
  sock.on('error', () => resolve(null));
  sock.on(e.QUEUE_BULL_REDIS_TLS === 'true' ? 'secureConnect' : 'connect', () => sock.write(cmds.map(bulk).join('')));
  sock.on('data', (d) => {
    buf += d;
    const lines = buf.split('\r\n').filter(Boolean);
    if (lines.length < cmds.length) return;
    sock.destroy();
    if (lines.some((l) => l.startsWith('-'))) return resolve(null);
    resolve({ wait: Number(lines.at(-2).slice(1)), active: Number(lines.at(-1).slice(1)) });
  });
});
(async () => {
  if (!(await ready())) done(1, 'worker not ready: database or Redis connection broken');
  const q = await queue();
  if (q === null) done(0, 'queue unreadable: the readiness check covers Redis');
  if (q.wait > 0 && q.active === 0) done(1, `queue stalled: ${q.wait} jobs waiting, none active`);
  done(0, `ok: ${q.wait} waiting, ${q.active} active`);
})();
""".replace("__READINESS__", READINESS_PATH)
"""Worker liveness: readiness, then Bull's `wait` and `active` list lengths over one RESP connection (TLS and AUTH
as the contract's QUEUE_BULL_* variables say; a private CA through NODE_EXTRA_CA_CERTS). Exit 1 means restart."""


def _failures(period: int) -> int:
    return math.ceil(BROKEN_BOUND_SECONDS / period)


def liveness(role: str) -> dict[str, Any]:
    """The liveness probe of the n8n container of ``role`` (its port is named ``http``)."""
    if role == "worker":
        return {"exec": {"command": ["node", "-e", WORKER_LIVENESS_JS]}, "periodSeconds": WORKER_PERIOD_SECONDS,
                "timeoutSeconds": PROBE_TIMEOUT_SECONDS, "failureThreshold": _failures(WORKER_PERIOD_SECONDS)}
    return {"httpGet": {"path": READINESS_PATH, "port": "http"}, "periodSeconds": HTTP_PERIOD_SECONDS,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS, "failureThreshold": _failures(HTTP_PERIOD_SECONDS)}
