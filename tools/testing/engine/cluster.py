"""A Kubernetes control plane on 127.0.0.1, from the binaries tools/testing/engine/build.py makes.

etcd, kube-apiserver (Pod Security admission and the rest of the default admission chain on, RBAC), the
controller-manager and the scheduler are the real programs; kwok plays the kubelets: it keeps simulated nodes
ready and walks scheduled pods through running and ready (and Jobs' pods to completion). Certificates are made
here with openssl. Every process started is recorded in ``<dir>/pids``; ``stop`` ends exactly those.

    python -m tools.testing.engine.cluster start [--dir DIR]   # prints the kubeconfig path
    python -m tools.testing.engine.cluster stop  [--dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tools.testing.engine import build

DEFAULT_DIR = build.CACHE / "cluster"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODES = (
    # (name, labels, taints): a general node and one of the worker pool (settings workerPool's label and taint).
    ("node-1", {}, []),
    ("node-2", {}, []),
    ("workers-1", {"n8n.io/pool": "workers"}, [{"key": "n8n.io/pool", "value": "workers", "effect": "NoSchedule"}]),
)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1 (all held open while choosing, so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], check=True, cwd=cwd, capture_output=True)


def make_certificates(pki: Path) -> None:
    """A cluster CA, the API server's serving certificate, client certificates and the service-account key."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=n8n-engine-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=pki)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    (pki / "apiserver.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        "extendedKeyUsage=serverAuth\n")
    for name, subject, ext in (
        ("apiserver", "/CN=kube-apiserver", "apiserver.ext"),
        ("admin", "/O=system:masters/CN=n8n-engine-admin", None),
        ("controller-manager", "/CN=system:kube-controller-manager", None),
        ("scheduler", "/CN=system:kube-scheduler", None),
        ("kwok", "/O=system:masters/CN=kwok", None),
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=pki)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "30", "-out", f"{name}.crt", *(("-extfile", ext) if ext else ()), cwd=pki)


def kubeconfig(path: Path, server: str, pki: Path, user: str) -> Path:
    """A kubeconfig for one client certificate (JSON is valid YAML)."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "n8n-engine",
        "clusters": [{"name": "n8n-engine", "cluster": {"server": server,
                                                         "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate": str(pki / f"{user}.crt"),
                                          "client-key": str(pki / f"{user}.key")}}],
        "contexts": [{"name": "n8n-engine", "context": {"cluster": "n8n-engine", "user": user}}],
    }
    path.write_text(json.dumps(config, indent=2))
    return path


class Cluster:
    """The control plane's files and processes under one directory."""

    def __init__(self, directory: Path = DEFAULT_DIR):
        self.dir = Path(directory)
        self.pki = self.dir / "pki"
        self.pids = self.dir / "pids"
        self.kubeconfig = self.dir / "kubeconfig"

    @property
    def server(self) -> str:
        return json.loads(self.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]

    def _start(self, name: str, argv: list[str]) -> None:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        with self.pids.open("a") as pids:
            pids.write(f"{name} {process.pid}\n")

    def _bin(self, name: str) -> str:
        return str(build.bin_dir() / name)

    def start(self, timeout: float = 180) -> Path:
        """Start etcd, the API server, controller-manager, scheduler and kwok; returns the admin kubeconfig."""
        if self.pids.exists() and self.pids.read_text().strip():
            raise RuntimeError(f"a control plane is already recorded in {self.pids}; stop it first")
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in ("etcd", "pki"):  # a new cluster each start: no data or keys of an earlier one
            shutil.rmtree(self.dir / stale, ignore_errors=True)
        make_certificates(self.pki)
        etcd_port, peer_port, api_port, metrics_port, cm_port, scheduler_port, kwok_port = free_ports(7)
        etcd = f"http://127.0.0.1:{etcd_port}"
        server = f"https://127.0.0.1:{api_port}"
        admin = kubeconfig(self.kubeconfig, server, self.pki, "admin")
        configs = {user: kubeconfig(self.dir / f"{user}.kubeconfig", server, self.pki, user)
                   for user in ("controller-manager", "scheduler", "kwok")}
        try:
            self._start("etcd", [
                self._bin("etcd"), "--name", "default", "--data-dir", str(self.dir / "etcd"),
                "--listen-client-urls", etcd, "--advertise-client-urls", etcd,
                "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                "--listen-metrics-urls", f"http://127.0.0.1:{metrics_port}", "--log-level", "warn",
                "--quota-backend-bytes", str(2 * 1024**3)])
            pki = self.pki
            self._start("kube-apiserver", [
                self._bin("kube-apiserver"), "--etcd-servers", etcd,
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
                "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
                "--client-ca-file", str(pki / "ca.crt"),
                "--service-account-key-file", str(pki / "sa.pub"),
                "--service-account-signing-key-file", str(pki / "sa.key"),
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range", SERVICE_CIDR, "--authorization-mode", "Node,RBAC",
                "--enable-admission-plugins", "PodSecurity,NodeRestriction",
                "--endpoint-reconciler-type", "none", "--cert-dir", str(pki / "apiserver-generated"),
                "--profiling=false", "--v", "1"])
            self._wait_healthy(admin, timeout)
            self._start("kube-controller-manager", [
                self._bin("kube-controller-manager"), "--kubeconfig", str(configs["controller-manager"]),
                "--authentication-kubeconfig", str(configs["controller-manager"]),
                "--authorization-kubeconfig", str(configs["controller-manager"]),
                "--bind-address", "127.0.0.1", "--secure-port", str(cm_port),
                "--service-account-private-key-file", str(pki / "sa.key"), "--root-ca-file", str(pki / "ca.crt"),
                "--cluster-signing-cert-file", str(pki / "ca.crt"), "--cluster-signing-key-file", str(pki / "ca.key"),
                "--use-service-account-credentials", "--service-cluster-ip-range", SERVICE_CIDR,
                "--cluster-cidr", POD_CIDR, "--allocate-node-cidrs", "--leader-elect=false",
                # kwok's heartbeats can lag on a loaded two-core machine; a node marked NotReady has its pods
                # marked unready, which kwok does not undo, and every await then hangs.
                "--node-monitor-grace-period", "10m",
                "--controllers", "*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
                "--profiling=false", "--v", "1"])
            self._start("kube-scheduler", [
                self._bin("kube-scheduler"), "--kubeconfig", str(configs["scheduler"]),
                "--authentication-kubeconfig", str(configs["scheduler"]),
                "--authorization-kubeconfig", str(configs["scheduler"]),
                "--bind-address", "127.0.0.1", "--secure-port", str(scheduler_port), "--leader-elect=false",
                "--profiling=false", "--v", "1"])
            self._start("kwok", [
                self._bin("kwok"), "--kubeconfig", str(configs["kwok"]), "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
                "--node-ip", "10.0.0.1", "--cidr", "10.0.0.1/24",
                "--server-address", f"127.0.0.1:{kwok_port}"])
            self.add_nodes()
            self.add_storage()
        except BaseException:
            self.stop()
            raise
        return admin

    def _wait_healthy(self, config: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            exited = [name for name, pid in self._recorded() if not _alive(pid)]
            if exited:
                raise RuntimeError(f"{', '.join(exited)} exited; see the logs in {self.dir}")
            try:
                self.request("GET", "/readyz")
                return
            except Exception as error:
                last = error
                time.sleep(1)
        raise RuntimeError(f"kube-apiserver not ready after {timeout}s: {last}; see {self.dir}/kube-apiserver.log")

    def _recorded(self) -> list[tuple[str, int]]:
        return [(line.split()[0], int(line.split()[1])) for line in self.pids.read_text().splitlines() if line.strip()]

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    def request(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json"):
        """One API call as the cluster admin; returns the decoded JSON (or text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl_context(), timeout=30) as response:
            payload = response.read().decode()
        try:
            return json.loads(payload)
        except json.JSONDecodeError:
            return payload

    def add_nodes(self) -> None:
        """Simulated nodes that kwok keeps Ready (4 CPUs and 16Gi each, amd64 Linux)."""
        for name, labels, taints in NODES:
            self.request("POST", "/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok",
                                        "topology.kubernetes.io/zone": f"zone-{name[-1]}", **labels}},
                "spec": {"taints": taints},
                "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                           "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                           "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                                        "kubeletVersion": build.KUBERNETES_VERSION}},
            })

    def add_storage(self, volumes: int = 12, size: str = "50Gi") -> None:
        """A default StorageClass and a pool of pre-made volumes, so claims bind through the real PV controller.

        There is no CSI driver here; the volumes are hostPath placeholders that no kubelet ever mounts.
        """
        self.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
            "reclaimPolicy": "Delete", "allowVolumeExpansion": True})
        for index in range(volumes):
            self.request("POST", "/api/v1/persistentvolumes", {
                "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"pv-{index:02d}"},
                "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                         "storageClassName": "standard", "persistentVolumeReclaimPolicy": "Retain",
                         "hostPath": {"path": f"/var/lib/n8n-engine/pv-{index:02d}"}}})

    def stop(self) -> None:
        """End exactly the processes this directory recorded (SIGTERM to each one's group, SIGKILL after 20 s)."""
        if not self.pids.exists():
            return
        pids = [pid for _name, pid in self._recorded()]
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.pids.unlink()


def _alive(pid: int) -> bool:
    """Whether a recorded process still runs (reaping it when it is our child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir)
    if args.action == "start":
        print(cluster.start())
    else:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
