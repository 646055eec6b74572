"""Build the real engine and control plane from Go modules, cached by version.

Every binary comes from the Go module proxy through a small wrapper module under
``tools/testing/engine/go/<component>/`` (its go.mod/go.sum pin the exact upstream versions; upstream go.mod files use
local ``replace`` directives, so ``go install pkg@version`` cannot build them). A binary lands in
``$N8N_ENGINE_CACHE/<component>-<key>/`` where the key is the upstream version plus a hash of the wrapper's files, so a
warm run builds nothing and a changed pin or wrapper builds anew. Builds run under ``nice -n 10``: the machines here
share two cores.

    python -m tools.testing.engine.build            # build what is missing, install the plugins, print the bin dir
    python -m tools.testing.engine.build --env      # the same, then print the shell exports that select this engine
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

GO_DIR = Path(__file__).resolve().parent / "go"
CACHE = Path(os.environ.get("N8N_ENGINE_CACHE", Path.home() / ".cache" / "n8n-engine"))
PULUMI_VERSION = "v3.274.0"
"""The CLI. The proxy does not serve pkg/v3 at v3.272.0 or v3.273.0 (403); v3.274.0 is the nearest release."""
PYTHON_SDK_VERSION = "v3.272.0"
"""requirements.txt's pulumi; its module carries the pulumi-language-python-exec shim the language host runs."""
SDK_VERSION = "v3.274.0"
"""The Go SDK the CLI is built with (its version variable is set on every Pulumi-built binary)."""


@dataclass(frozen=True)
class Binary:
    """One executable built from a wrapper module."""

    name: str
    """File name of the executable."""
    package: str
    """Go package path of its ``main``."""
    ldflags: tuple[str, ...] = ()
    """``-X`` assignments (the engine relies on binaries reporting their versions)."""


@dataclass(frozen=True)
class Component:
    """A wrapper module under go/ and what it builds."""

    name: str
    """Directory under tools/testing/engine/go/ and prefix of the cache directory."""
    version: str
    """The upstream version the wrapper pins (part of the cache key)."""
    binaries: tuple[Binary, ...]
    """Executables built from it."""
    copies: tuple[tuple[str, str], ...] = field(default=())
    """(module@version/path, file name) copied from the module cache beside main.go before building."""
    extras: tuple[tuple[str, str], ...] = field(default=())
    """(module@version/path, file name) copied from the module cache beside the built binaries."""

    def key(self) -> str:
        digest = hashlib.sha256()
        for path in sorted((GO_DIR / self.name).glob("*")):
            if path.suffix in {".go", ".mod", ".sum"}:
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        digest.update(repr(self).encode())
        return f"{self.version}-{digest.hexdigest()[:10]}"

    def directory(self) -> Path:
        return CACHE / f"{self.name}-{self.key()}"


def _version_flag(version: str) -> str:
    return f"github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={version}"


YAML_VERSION = "v1.25.0"
"""Pulumi YAML's language host (github.com/pulumi/pulumi-yaml), built with the pulumi/pkg version its release
requires (v3.206.0; it does not compile against the CLI's v3.274.0)."""

KUBERNETES_PROVIDER = "v4.0.0-20260115033456-f47bc2d6f199"
"""The only pulumi-kubernetes provider/v4 version the proxy serves (its module is untagged upstream)."""
KUBERNETES_PLUGIN = "4.34.2"
"""The plugin version pulumi-kubernetes==4.34.2 (requirements.txt) requests; the binary is installed under it."""
RANDOM_PLUGIN = "4.21.4"
"""The plugin version pulumi-random==4.21.4 requests; served by our stand-in (go/random/main.go)."""
AWS_PLUGIN = "7.51.1"
"""The plugin version pulumi-aws==7.51.1 requests; served by a schema-only stand-in (go/aws/main.go): the component
package's schema refers to the aws provider resource, and pulumi-aws's provider module is not served."""
KUBERNETES_VERSION = "v1.33.13"
"""kube-apiserver, controller-manager and scheduler: the minor the stacks target (settings kubernetesVersion)."""
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.7.0"
"""kwok's release for Kubernetes 1.33."""

_K8S_PROVIDER_CMD = (f"github.com/pulumi/pulumi-kubernetes/provider/v4@{KUBERNETES_PROVIDER}"
                     "/cmd/pulumi-resource-kubernetes")

COMPONENTS: tuple[Component, ...] = (
    Component("pulumi", PULUMI_VERSION, (
        Binary("pulumi", "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi", (_version_flag(PULUMI_VERSION),)),)),
    Component("language-python", "v3.68.0", (
        Binary("pulumi-language-python", "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python",
               (_version_flag("v3.68.0"),)),),
        extras=((f"github.com/pulumi/pulumi/sdk/v3@{PYTHON_SDK_VERSION}/python/cmd/pulumi-language-python-exec",
                 "pulumi-language-python-exec"),)),
    Component("codegen", PULUMI_VERSION, tuple(
        Binary(f"pulumi-language-{language}", ".", (f"main.language={language}", f"main.version={PULUMI_VERSION}"))
        for language in ("go", "nodejs"))),
    Component("language-yaml", YAML_VERSION, (
        Binary("pulumi-language-yaml", "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml",
               (f"github.com/pulumi/pulumi-yaml/pkg/version.Version={YAML_VERSION}",)),)),
    Component("kubernetes", KUBERNETES_PROVIDER, (
        Binary("pulumi-resource-kubernetes", ".", (
            f"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version={KUBERNETES_PLUGIN}",)),),
        copies=((f"{_K8S_PROVIDER_CMD}/schema.json", "schema.json"),
                (f"{_K8S_PROVIDER_CMD}/terraform-mapping.json", "terraform-mapping.json"))),
    Component("random", RANDOM_PLUGIN, (
        Binary("pulumi-resource-random", ".", (f"main.version={RANDOM_PLUGIN}",)),)),
    Component("aws", AWS_PLUGIN, (
        Binary("pulumi-resource-aws", ".", (f"main.version={AWS_PLUGIN}",)),)),
    Component("etcd", ETCD_VERSION, (Binary("etcd", "go.etcd.io/etcd/server/v3"),)),
    Component("kube", KUBERNETES_VERSION, tuple(
        Binary(cmd, f"k8s.io/kubernetes/cmd/{cmd}", tuple(
            f"k8s.io/component-base/version.{var}" for var in (
                f"gitVersion={KUBERNETES_VERSION}", "gitMajor=1", f"gitMinor={KUBERNETES_VERSION.split('.')[1]}",
                "gitTreeState=clean")))
        for cmd in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"))),
    Component("kwok", KWOK_VERSION, (Binary("kwok", "sigs.k8s.io/kwok/cmd/kwok"),)),
)

PLUGINS = (("kubernetes", KUBERNETES_PLUGIN), ("random", RANDOM_PLUGIN), ("aws", AWS_PLUGIN))


def _modcache() -> Path:
    return Path(subprocess.run(["go", "env", "GOMODCACHE"], check=True, capture_output=True, text=True).stdout.strip())


def _module_file(spec: str, cwd: Path) -> Path:
    """``module@version/inner/path`` inside the module cache, downloading the module from the proxy if missing."""
    module, _, rest = spec.partition("@")
    version, _, inner = rest.partition("/")
    subprocess.run(["go", "mod", "download", f"{module}@{version}"], check=True, cwd=cwd)
    escaped = "".join(f"!{c.lower()}" if c.isupper() else c for c in module)
    return _modcache() / f"{escaped}@{version}" / inner


def build(component: Component, log=print) -> Path:
    """Build one component into its cache directory unless it is already there; returns the directory.

    A lock file per component makes concurrent runs (two terminals, CI and a developer) wait for each other.
    """
    target = component.directory()
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{component.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        return _build_locked(component, target, log)


def _build_locked(component: Component, target: Path, log) -> Path:
    wrapper = GO_DIR / component.name
    for spec, name in component.copies:
        shutil.copyfile(_module_file(spec, wrapper), wrapper / name)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    started = time.monotonic()
    for binary in component.binaries:
        flags = " ".join(["-s", "-w", *(f"-X {assignment}" for assignment in binary.ldflags)])
        log(f"engine: building {binary.name} ({component.name} {component.version})")
        subprocess.run(["nice", "-n", "10", "go", "build", "-mod=readonly", "-trimpath", "-ldflags", flags,
                        "-o", str(staging / binary.name), binary.package], check=True, cwd=wrapper)
    for spec, name in component.extras:
        shutil.copyfile(_module_file(spec, wrapper), staging / name)
        (staging / name).chmod(0o755)
    (staging / "build.json").write_text(json.dumps({"seconds": round(time.monotonic() - started, 1),
                                                    "version": component.version}))
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def bin_dir() -> Path:
    return CACHE / "bin"


def pulumi_home() -> Path:
    return CACHE / "pulumi-home"


def link_and_install(directories: dict[str, Path]) -> None:
    """One bin directory of symlinks, and the provider plugins installed into this engine's own PULUMI_HOME."""
    bins = bin_dir()
    bins.mkdir(parents=True, exist_ok=True)
    for directory in directories.values():
        for path in directory.iterdir():
            # Providers are reached through the plugin cache below, at the version the SDK asks for; a provider on
            # PATH would be taken for any version.
            if path.is_file() and os.access(path, os.X_OK) and not path.name.startswith("pulumi-resource-"):
                link = bins / path.name
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(path)
    env = engine_env()
    for name, version in PLUGINS:
        installed = pulumi_home() / "plugins" / f"resource-{name}-v{version}"
        source = directories[name] / f"pulumi-resource-{name}"
        stamp = installed / ".source"
        if stamp.exists() and stamp.read_text() == str(source):
            continue
        subprocess.run([str(bins / "pulumi"), "plugin", "install", "resource", name, version, "--file", str(source),
                        "--reinstall"], check=True, env=env, capture_output=True)
        # The CLI caches a plugin's schema under PULUMI_HOME/schemas; a reinstalled plugin may serve another one.
        for cached in (pulumi_home() / "schemas").glob(f"{name}-{version}*.json"):
            cached.unlink()
        stamp.write_text(str(source))


def engine_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment selecting this engine: its bin dir first on PATH, its own PULUMI_HOME, no update checks."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env["PULUMI_HOME"] = str(pulumi_home())
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    return env


def build_all(names: list[str] | None = None, log=print) -> dict[str, float]:
    """Build every component (or the named ones), link them and install the plugins; returns seconds per component."""
    timings: dict[str, float] = {}
    directories: dict[str, Path] = {}
    for component in COMPONENTS:
        if names and component.name not in names:
            continue
        started = time.monotonic()
        directories[component.name] = build(component, log)
        timings[component.name] = round(time.monotonic() - started, 1)
    if not names or {"pulumi", *(name for name, _ in PLUGINS)} <= set(names):
        link_and_install(directories)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("components", nargs="*", help="only these (default: all)")
    parser.add_argument("--env", action="store_true", help="print shell exports for this engine")
    args = parser.parse_args(argv)
    started = time.monotonic()
    timings = build_all(args.components or None, log=lambda line: print(line, file=sys.stderr))
    print(f"engine: ready in {time.monotonic() - started:.0f}s {json.dumps(timings)}", file=sys.stderr)
    if args.env:
        env = engine_env({"PATH": "$PATH"})
        for key, value in env.items():
            print(f'export {key}="{value}"')
    else:
        print(bin_dir())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
