"""Mutation testing of the pure builders: does a test notice when a line of the module changes?

    python -m tools.testing.mutate                          every module in tools/testing/mutation.toml
    python -m tools.testing.mutate components/n8n_platform/redis/conf.py
                                                            one module (by file or by name)
    python -m tools.testing.mutate settings --resume        keep the last run's verdicts: check what has none
                                                            (new, changed or unchecked code), re-check the
                                                            survivors and unreached mutants (after new tests)

Each module runs mutmut 3.x in its own sandbox, build/mutation/<module>/, with one worker process: the library, the
tests, tools/ and the stack files are copied there and the module's files are mutated (files outside the library, the
policy pack's rules, keep their place and their folder comes along). The score is the share of reached mutants (those
some test runs) that a test kills; survivors listed as equivalent in tools/testing/mutation.toml are left out of it.
Every other survivor is printed with its changed line, so it can be killed by a test or, when it truly behaves like the
original, listed as equivalent with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tools" / "testing" / "mutation.toml"
SANDBOXES = ROOT / "build" / "mutation"
TARGET = 90.0

# mutmut's exit codes for a mutant's test run, grouped the way the score counts them.
KILLED = {1, 3, 36, 24, -24, 152, 255}  # a test failed, or the mutant hung until the time limit (a timeout kills)
SURVIVED = {0}
NOT_REACHED = {5, 33}  # no test runs the mutated function


@dataclass
class Module:
    name: str
    files: list[str]
    tests: list[str]
    deselect: list[str] = field(default_factory=list)
    warm_up: list[list] = field(default_factory=list)  # [module, function, *arguments] called once in the fork server


@dataclass
class Result:
    module: Module
    mutants: int = 0
    killed: int = 0
    not_reached: int = 0
    survivors: dict[str, str] = field(default_factory=dict)  # mutant name -> '<stem>.<function> | <changed line>'
    equivalent: dict[str, str] = field(default_factory=dict)  # mutant name -> its key in [equivalent]
    other: Counter = field(default_factory=Counter)  # not checked, suspicious, segfault: a broken run, not a score

    @property
    def reached(self) -> int:
        return self.killed + len(self.survivors) + len(self.equivalent)

    @property
    def score(self) -> float:
        counted = self.reached - len(self.equivalent)
        return 100.0 * self.killed / counted if counted else 100.0


def load_config() -> dict:
    return tomllib.loads(CONFIG.read_text())


def modules(config: dict) -> list[Module]:
    return [Module(name, spec["files"], spec["tests"], spec.get("deselect", []), spec.get("warm_up", []))
            for name, spec in config["modules"].items()]


def select(config: dict, wanted: str | None) -> list[Module]:
    known = modules(config)
    if not wanted:
        return known
    wanted_path = Path(wanted).as_posix().removeprefix("./")
    for module in known:
        if wanted in (module.name, *module.files) or wanted_path in module.files:
            return [module]
    path = ROOT / wanted_path
    default_test = ROOT / "tests" / f"test_{path.stem}.py"
    if path.suffix == ".py" and path.is_file() and default_test.is_file():
        return [Module(path.stem, [wanted_path], [default_test.relative_to(ROOT).as_posix()])]
    names = ", ".join(m.name for m in known)
    raise SystemExit(f"mutate: {wanted!r} is neither a module in {CONFIG.relative_to(ROOT)} ({names}) nor a library "
                     f"file with a tests/test_<name>.py")


def toml_value(value: object) -> str:
    """TOML for the plain values mutmut's section holds (strings, numbers, booleans, lists of those)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def prepare(module: Module, config: dict, fresh: bool) -> Path:
    """The module's sandbox: the repository's files mutmut needs, and a pyproject.toml saying what to mutate."""
    sandbox = SANDBOXES / module.name
    if fresh and sandbox.exists():
        shutil.rmtree(sandbox)
    sandbox.mkdir(parents=True, exist_ok=True)
    # mutmut names mutants after their import path only for sources under ./, src/ or source/: the library goes to src/.
    copies = [("components", "src"), ("tests", "tests"), *((path, path) for path in config["mutmut"]["also_copy"]),
              *((top, top) for top in outside_library(module))]
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for source, target in copies:
        if (sandbox / target).is_dir():
            shutil.rmtree(sandbox / target)
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, sandbox / target, ignore=ignore)
        else:
            shutil.copy2(ROOT / source, sandbox / target)
    section = mutmut_section(module, config)
    pyproject = (ROOT / "pyproject.toml").read_text().rstrip("\n") + "\n\n[tool.mutmut]\n"
    pyproject += "".join(f"{key} = {toml_value(value)}\n" for key, value in section.items())
    (sandbox / "pyproject.toml").write_text(pyproject)
    if module.warm_up:
        (sandbox / WARM_UP).write_text(warm_up_module(module, section))
        (sandbox / f"{WARM_UP.removesuffix('.py')}.txt").write_text(WARM_UP.removesuffix(".py") + "\n")
    # The mutated library must win over the one on PYTHONPATH and the editable install: it sits first on the path,
    # and exists before Python starts so the import system does not remember it as missing.
    (sandbox / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    return sandbox


def outside_library(module: Module) -> list[str]:
    """The top folders of the module's files that are not in the library (policy/ for the policy pack's rules)."""
    return sorted({Path(file).parts[0] for file in module.files if not file.startswith("components/")})


WARM_UP = "mutation_warm_up.py"


def warm_up_module(module: Module, section: dict) -> str:
    """What the fork server runs once before it forks a process per mutant: mutmut's own warm-up (collecting the
    tests), then the module's warm_up calls, whose results (cached by the tests) every mutant's process inherits."""
    collect = ["--collect-only", "-qqq", *section["pytest_add_cli_args_test_selection"]]
    return (f'"""Written by tools/testing/mutate.py: the fork server\'s warm-up for {module.name}."""\n\n'
            "import importlib\n\n"
            "from mutmut.runners.harness import PytestRunner\n"
            "from mutmut.utils.file_utils import change_cwd\n\n"
            'with change_cwd("mutants"):\n'
            f"    PytestRunner().execute_pytest({collect!r})\n"
            f"    for module, function, *arguments in {module.warm_up!r}:\n"
            "        getattr(importlib.import_module(module), function)(*arguments)\n")


def mutmut_section(module: Module, config: dict) -> dict:
    """mutmut's settings for one module: the shared ones, its files to mutate, its tests and the tests left out."""
    section = dict(config["mutmut"])
    section["only_mutate"] = [in_sandbox(file) for file in module.files]
    # Files outside the library are mutated where they are (policy/n8n_policy/ imports as policy.n8n_policy); the
    # rest of their folder (the pack's config) goes along unmutated.
    for top in outside_library(module):
        packages = sorted({Path(file).parent.as_posix() for file in module.files if Path(file).parts[0] == top})
        section["source_paths"] = [*section["source_paths"], *packages]
        section["also_copy"] = [*section["also_copy"], *(
            path.relative_to(ROOT).as_posix() for path in sorted((ROOT / top).iterdir())
            if path.relative_to(ROOT).as_posix() not in packages and path.name != "__pycache__")]
    if module.warm_up:
        section["forkserver_warmup"] = "import"
        section["preload_modules_file"] = WARM_UP.removesuffix(".py") + ".txt"
        section["also_copy"] = [*section["also_copy"], WARM_UP]
    section["pytest_add_cli_args_test_selection"] = [
        test for test in module.tests if (ROOT / test.partition("::")[0]).is_file()]
    section["pytest_add_cli_args"] = [*section.get("pytest_add_cli_args", []),
                                      *(arg for test in module.deselect for arg in ("--deselect", test))]
    return section


def in_sandbox(file: str) -> str:
    """Where a file sits in the sandbox (components/ is copied as src/, other folders keep their place)."""
    return "src/" + file.removeprefix("components/") if file.startswith("components/") else file


def run_mutmut(sandbox: Path, mutant_names: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(sandbox / "mutants" / "src"), str(sandbox / "mutants")])
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", "1", *mutant_names]
    return subprocess.run(command, cwd=sandbox, env=env, check=False).returncode


def load_exit_codes(sandbox: Path, module: Module) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for file in module.files:
        meta = sandbox / "mutants" / f"{in_sandbox(file)}.meta"
        if meta.is_file():
            codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def describe(sandbox: Path, file_by_mutant: dict[str, str]) -> dict[str, str]:
    """'<stem>.<function> | <changed line>' for each mutant: stable while the line itself stays."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    described = {}
    cwd = os.getcwd()
    os.chdir(sandbox)
    try:
        reset_config()
        for name, file in file_by_mutant.items():
            diff = get_diff_for_mutant(name, path=Path(in_sandbox(file)))
            body = [line for line in diff.splitlines() if not line.startswith(("+++", "---"))]
            added = [line[1:].strip() for line in body if line.startswith("+")]
            removed = [line[1:].strip() for line in body if line.startswith("-")]
            # an argument dropped leaves only punctuation on the added side: name what went instead
            changed = " / ".join(added) if any(c.isalnum() for c in "".join(added)) else \
                "(removed) " + " / ".join(removed)
            function = name.partition("__mutmut_")[0].rpartition(".")[2]  # x_<function> or xǁ<class>ǁ<method>
            function = function.removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")
            described[name] = f"{Path(file).stem}.{function} | {changed}"
    finally:
        os.chdir(cwd)
        reset_config()
    return described


def measure(sandbox: Path, module: Module, equivalent: dict[str, str]) -> Result:
    codes = load_exit_codes(sandbox, module)
    result = Result(module, mutants=len(codes))
    surviving = []
    for name, code in codes.items():
        if code in KILLED:
            result.killed += 1
        elif code in NOT_REACHED:
            result.not_reached += 1
        elif code in SURVIVED:
            surviving.append(name)
        else:
            result.other[code] += 1
    file_of = {}
    for file in module.files:
        prefix = file.removeprefix("components/").removesuffix(".py").replace("/", ".") + "."
        file_of.update({name: file for name in surviving if name.startswith(prefix)})
    for name, key in describe(sandbox, file_of).items():
        if key in equivalent:
            result.equivalent[name] = key
        else:
            result.survivors[name] = key
    return result


def report(results: list[Result], equivalent: dict[str, str]) -> bool:
    for result in results:
        if result.survivors:
            print(f"\n{result.module.name}: {len(result.survivors)} survivors (a test should notice each, or list "
                  f"it as equivalent in {CONFIG.relative_to(ROOT)} with the reason)")
            for name, key in sorted(result.survivors.items(), key=lambda item: item[1]):
                print(f"  {name}\n      '{key}'")
    used = {key for result in results for key in result.equivalent.values()}
    checked_files = {Path(f).stem for result in results if not result.other for f in result.module.files}
    stale = [key for key in equivalent if key.partition(".")[0] in checked_files and key not in used]
    if stale:
        print("\nequivalent entries that no survivor matches any more (killed now, or the line changed): remove them")
        for key in stale:
            print(f"  '{key}'")
    print(f"\n{'module':<12} {'mutants':>8} {'reached':>8} {'killed':>7} {'survived':>9} {'equivalent':>11} "
          f"{'not reached':>12} {'score':>7}")
    ok = True
    for r in results:
        print(f"{r.module.name:<12} {r.mutants:>8} {r.reached:>8} {r.killed:>7} {len(r.survivors):>9} "
              f"{len(r.equivalent):>11} {r.not_reached:>12} {r.score:>6.1f}%")
        if r.other:
            print(f"{'':<12} not scored (a broken run, look at the sandbox): {dict(r.other)}")
        ok = ok and r.score >= TARGET and not r.other
    print(f"\ntarget: {TARGET:.0f} % of the reached, non-equivalent mutants killed in every module")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", help="a library file or a module name in tools/testing/mutation.toml")
    parser.add_argument("--resume", action="store_true",
                        help="keep the sandbox: re-run last time's survivors and the mutants not checked yet")
    parser.add_argument("--report", action="store_true", help="only print the last run's results")
    args = parser.parse_args(argv)
    config = load_config()
    equivalent = config.get("equivalent", {})
    results = []
    for module in select(config, args.module):
        sandbox = SANDBOXES / module.name
        if not args.report:
            codes = load_exit_codes(sandbox, module) if args.resume else {}  # no earlier run: a full one
            print(f"== {module.name}: mutating {', '.join(module.files)} against {', '.join(module.tests)}", flush=True)
            sandbox = prepare(module, config, fresh=not codes)
            # Which test runs which function is measured afresh (the code or the tests may have changed since);
            # mutmut keeps its verdicts and runs every mutant without one (new, unchecked, or in a changed function) ...
            (sandbox / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
            code = run_mutmut(sandbox, [])
            # ... then, when resuming, the earlier survivors and unreached mutants, against the tests as they are now.
            now = load_exit_codes(sandbox, module)
            again = [name for name, now_code in now.items()
                     if now_code in NOT_REACHED or (now_code in SURVIVED and codes.get(name) in SURVIVED)]
            if not code and again:
                code = run_mutmut(sandbox, again)
            if code:
                print(f"mutmut failed for {module.name} (exit {code}); its sandbox is {sandbox}", file=sys.stderr)
                return code
        results.append(measure(sandbox, module, equivalent))
    return 0 if report(results, equivalent) else 1


if __name__ == "__main__":
    sys.exit(main())
