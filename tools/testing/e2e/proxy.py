"""A real reverse proxy (nginx from Debian) configured from the route table, in front of real n8n processes.

:func:`nginx_conf` turns :func:`n8n_platform.edge.routes.routes` into nginx locations with the same semantics the
ALB and the Gateway implement: ``exact`` -> ``location =``, ``prefix`` -> ``location = /p`` plus
``location ^~ /p/`` (element-wise prefix, the longest wins), ``refused`` -> ``return 404`` at the edge. Like the
ALB it appends the client address to ``X-Forwarded-For`` (one hop: ``N8N_PROXY_HOPS=1``), passes the Host header,
upgrades websockets on the push family and keeps idle connections for the edge's idle timeout. Every answer carries
``X-Edge-Family`` (the route that matched) and ``X-Edge-Upstream`` (the address of the process that answered), so a
test can tell which n8n process served a request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from n8n_platform.edge.routes import Route

from .servers import Managed, free_port, stop_process, wait_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MAX_BODY = "16m"
"""n8n's own request body limit (N8N_PAYLOAD_SIZE_MAX, 16 MiB)."""


def _location(route: Route, idle_timeout: int) -> str:
    headers = [f"add_header X-Edge-Family {route.family} always;"]
    if route.backend == "refused":
        body = [*headers, "return 404;"]
    else:
        body = [
            *headers,
            "add_header X-Edge-Upstream $upstream_addr always;",
            f"proxy_pass http://{route.backend};",
            "proxy_http_version 1.1;",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            f"proxy_read_timeout {idle_timeout}s;",
            f"proxy_send_timeout {idle_timeout}s;",
            "proxy_buffering off;",
        ]
        if route.websocket:
            body += ["proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"]
        else:
            body += ['proxy_set_header Connection "";']
    block = "\n".join(f"            {line}" for line in body)
    if route.match == "exact" or route.path == "/":
        selectors = [f"= {route.path}" if route.match == "exact" else "/"]
    else:
        selectors = [f"= {route.path}", f"^~ {route.path}/"]
    return "\n".join(f"        location {s} {{\n{block}\n        }}" for s in selectors)


def nginx_conf(table: tuple[Route, ...], upstreams: dict[str, int], port: int, workdir: Path,
               idle_timeout: int) -> str:
    """nginx.conf serving ``table`` on 127.0.0.1:``port``; ``upstreams`` maps a backend (main, webhook) to the
    127.0.0.1 port of its process."""
    missing = {r.backend for r in table if r.backend != "refused"} - set(upstreams)
    if missing:
        raise ValueError(f"no upstream port for {sorted(missing)}")
    pools = "\n".join(f"    upstream {name} {{\n        server 127.0.0.1:{p};\n        keepalive 8;\n    }}"
                      for name, p in sorted(upstreams.items()))
    locations = "\n".join(_location(r, idle_timeout) for r in table)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    client_max_body_size {MAX_BODY};
    server_tokens off;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
{pools}
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""


class NginxEdge(Managed):
    """nginx configured by :func:`nginx_conf`; a context manager (stops the server it started)."""

    def __init__(self, table: tuple[Route, ...], upstreams: dict[str, int], idle_timeout: int):
        self.table, self.upstreams, self.idle_timeout = table, upstreams, idle_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="n8n-edge-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def conf(self) -> Path:
        return self.workdir / "nginx.conf"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 20) -> NginxEdge:
        self.conf.write_text(nginx_conf(self.table, self.upstreams, self.port, self.workdir, self.idle_timeout))
        check = subprocess.run([NGINX, "-t", "-q", "-p", str(self.workdir), "-c", str(self.conf), "-e", "stderr"],
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected the generated configuration:\n{check.stderr}")
        with open(self.workdir / "stderr.log", "w") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(self.conf), "-e", "stderr"],
                                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        wait_port(self.port, timeout, self.proc)
        return self

    def error_log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
