"""The GitHub Action's logic: ``python -m trussguard.gha``, run by ``action.yml``.

It reads environment variables only: the action's inputs as ``TG_*`` (an input never reaches a
shell script as text, which is how template injection owns actions) and GitHub's own
(``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``,
``GITHUB_WORKSPACE``, ``RUNNER_TEMP``). The event decides what the audit covers: a pull request's
commits (base..head), a push's commits (before..after), otherwise the whole history.

``command`` picks the parts: ``gate`` (the default) runs both the history audit and the tree scan,
because each misses what the other sees: the audit finds a key added and removed inside the pull
request, the scan runs the Truss policy checks that only make sense on a whole tree (a secret
printed, a secret read that config.yaml does not declare: TG206, TG207). ``audit`` or ``scan`` runs
one. Each part runs once, in process, through the same functions as the CLI
(``commands.audit_result`` / ``scan_result``); every output is rendered from those results: the
annotations on stdout (a finding both parts report is annotated once), one job summary with one
verdict, the JSON reports, one SARIF log with one run per part when asked, and the step outputs.
On pull requests (and merge groups) the base commit's configuration and baseline gate the change,
for every part, and what the pull request does to them is annotated (``gate_changes.py``).

Exit status: the worst of the parts (2 over 1 over 0): 0 clean, 1 findings at or above fail-on, 2 a
bad input or an error (one ``::error::`` line). Secrets appear only redacted: the action never asks
for ``--show-secrets``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from trussguard.gha_summary import TITLES, Part, job_summary, publish_gate_changes, shown_once
from trussguard.report.github import escape_data
from trussguard.triage import Filters, commit_url_from_ci, present

COMMANDS = ("gate", "audit", "scan")
PARTS = {"gate": ("audit", "scan"), "audit": ("audit",), "scan": ("scan",)}  # command -> what runs, in order
SEVERITIES = ("low", "medium", "high", "critical")
PR_EVENTS = ("pull_request", "pull_request_target")
INPUTS = {"TG_COMMAND": "command", "TG_PATH": "path", "TG_FAIL_ON": "fail-on", "TG_BASELINE": "baseline",
          "TG_CONFIG": "config", "TG_SARIF": "upload-sarif",
          "TG_ALLOW_CONFIG_CHANGES": "allow-config-changes",
          "TG_VALIDATE": "validate"}  # environment variable -> action input
COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories
FETCH_HINT = "check out the whole history: actions/checkout with `fetch-depth: 0`"


class ActionError(Exception):
    """A bad input or an environment the action cannot work in: one ``::error::`` line, exit 2."""


@dataclass(frozen=True)
class Inputs:
    command: str
    path: Path
    fail_on: str | None
    baseline: Path | None
    config: Path | None
    sarif: bool
    allow_config_changes: bool = False
    validate: bool = False  # ask each secret's provider whether it still works (off unless asked)


@dataclass(frozen=True)
class Scope:
    """What ``audit`` covers: a ``BASE..HEAD`` range or everything (None); ``skip`` for a deleted branch."""

    rev_range: str | None
    description: str
    skip: bool = False


TREE = Scope(None, "the working tree")


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        inputs = read_inputs(env)
        ensure_full_history(inputs)
        scope = decide_scope(inputs, env)
        if scope.skip:
            print(f"::notice::trussguard: {escape_data(scope.description)}; nothing to audit")
            write_outputs(env, {"findings": "0", "exit-code": "0"})
            return 0
        trusted = trusted_revision(inputs, env)
        commit_url = commit_url_from_ci(env)  # the summary and annotations link commits on this host
        parts = [run_part(command, inputs, scope if command == "audit" else TREE, trusted, commit_url)
                 for command in PARTS[inputs.command]]
        code = worst(p.code for p in parts)
        publish(inputs, parts, code, env)
    except ActionError as exc:
        return fail(env, str(exc))
    except click.ClickException as exc:  # trussguard's own one-line errors (bad config, baseline, revision)
        return fail(env, exc.format_message())
    except Exception as exc:  # fail closed: a crash must never pass the gate
        problems = getattr(exc, "problems", None)  # RuleLoadError
        return fail(env, "; ".join(map(str, problems)) if problems else f"{type(exc).__name__}: {exc}")
    if code == 2:
        result = next(p.result for p in parts if p.code == 2)
        first = result.errors[0]
        return fail(env, f"{len(result.errors)} file(s) or blob(s) could not be read (first: {first.path}: "
                         f"{first.detail}); the reports list them", outputs=False)
    if code == 1 and any(c.blocks for p in parts for c in p.result.gate_changes):
        print("trussguard: this pull request widens its own gate's configuration or baseline: the job fails "
              "(see the annotations; once reviewed, set the input allow-config-changes: true)")
    for part in parts:
        result, config = part.result, part.config
        if part.code == 1 and any(f.severity >= config.fail_on and f.advisory_id not in result.rotated
                                  for f in result.findings):
            print(f"trussguard: {TITLES[part.command]}: {len(result.findings)} finding(s), at least one at or above "
                  f"{config.fail_on}: the job fails (see the annotations and the job summary)")
    return code


def worst(codes) -> int:
    """The exit code of several parts: an error (2) wins over findings (1), which win over clean (0)."""
    return max(codes, default=0)


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """The ``TG_*`` inputs, checked; an empty input takes the action's default."""
    for variable, name in INPUTS.items():
        if any(ord(c) < 32 or ord(c) == 127 for c in env.get(variable, "")):
            raise ActionError(f"input {name} contains a control character")
    command = env.get("TG_COMMAND") or "gate"
    if command not in COMMANDS:
        raise ActionError(f"input command must be gate, audit or scan, got {command!r}")
    fail_on = env.get("TG_FAIL_ON") or None
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ActionError(f"input fail-on must be one of {', '.join(SEVERITIES)} (or empty), got {fail_on!r}")
    sarif = env.get("TG_SARIF") or "false"
    if sarif not in ("true", "false"):
        raise ActionError(f"input upload-sarif must be true or false, got {sarif!r}")
    allow = env.get("TG_ALLOW_CONFIG_CHANGES") or "false"
    if allow not in ("true", "false"):
        raise ActionError(f"input allow-config-changes must be true or false, got {allow!r}")
    validate = env.get("TG_VALIDATE") or "false"
    if validate not in ("true", "false"):
        raise ActionError(f"input validate must be true or false, got {validate!r}")
    workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
    path = workspace / (env.get("TG_PATH") or ".")
    if not path.exists():
        raise ActionError(f"input path {env.get('TG_PATH')!r} does not exist in the workspace")
    optional = {k: workspace / env[k] if env.get(k) else None for k in ("TG_BASELINE", "TG_CONFIG")}
    return Inputs(command, path.resolve(), fail_on, optional["TG_BASELINE"], optional["TG_CONFIG"], sarif == "true",
                  allow == "true", validate == "true")


def ensure_full_history(inputs: Inputs) -> None:
    """An audit of a shallow checkout (actions/checkout's default, ``fetch-depth: 1``) would miss
    every commit before the cut, so the action fetches the rest itself (``git fetch --unshallow
    --tags``, with the credentials checkout left); if it cannot (no network, no credentials), it
    stops with one line saying how to check out the whole history, rather than audit part of it."""
    if "audit" not in PARTS[inputs.command]:
        return
    root = _repository(inputs.path)
    if not _shallow(root):
        return
    proc = subprocess.run(["git", "-C", str(root), "fetch", "--quiet", "--unshallow", "--tags"],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=3600,
                          env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    if proc.returncode != 0 or _shallow(root):
        from trussguard.sources.history_git import summarise

        raise ActionError(f"the checkout is shallow and `git fetch --unshallow` failed "
                          f"({summarise(proc.stderr)}); {FETCH_HINT}")
    print("trussguard: the checkout was shallow; fetched the whole history (`git fetch --unshallow --tags`)")


def decide_scope(inputs: Inputs, env: Mapping[str, str]) -> Scope:
    """pull_request: base..head; merge_group: base..head; push: before..after (see ``_push_scope``);
    anything else (schedule, workflow_dispatch, ...): every commit of every ref."""
    event = env.get("GITHUB_EVENT_NAME", "")
    if "audit" not in PARTS[inputs.command]:
        return TREE
    if event in PR_EVENTS or event == "merge_group":
        payload = _payload(env)
        if event == "merge_group":
            group = payload.get("merge_group") or {}
            base, head = group.get("base_sha"), group.get("head_sha")
        else:
            pull = payload.get("pull_request") or {}
            base, head = (pull.get("base") or {}).get("sha"), (pull.get("head") or {}).get("sha")
        base, head = _commit_id(base, f"{event} base sha"), _commit_id(head, f"{event} head sha")
        root = _repository(inputs.path)
        _require(root, base, f"the {event} base")
        _require(root, head, f"the {event} head")
        return Scope(f"{base}..{head}", f"{event}: the commits of `{base[:12]}..{head[:12]}`")
    if event == "push":
        return _push_scope(inputs, _payload(env))
    return Scope(None, f"{event or 'no event'}: every commit of every ref")


def _push_scope(inputs: Inputs, payload: dict) -> Scope:
    """before..after. A deleted branch: nothing. A new branch or tag (``before`` all zeros), or a
    force-push whose old tip is gone from a full clone: the commits not on the default branch
    (``origin/<default>``), or every commit when that cannot be resolved or is the pushed branch."""
    before, after = _commit_id(payload.get("before"), "push before"), _commit_id(payload.get("after"), "push after")
    if set(after) == {"0"}:
        return Scope(None, f"push deleted {payload.get('ref', 'a ref')}", skip=True)
    root = _repository(inputs.path)
    _require(root, after, "the pushed commit")
    if set(before) != {"0"} and (_exists(root, before) or not payload.get("forced") or _shallow(root)):
        _require(root, before, "the commit before the push")
        return Scope(f"{before}..{after}", f"push: the commits of `{before[:12]}..{after[:12]}`")
    default = (payload.get("repository") or {}).get("default_branch")
    why = "new ref" if set(before) == {"0"} else "force-push"
    if isinstance(default, str) and default and payload.get("ref") != f"refs/heads/{default}":
        for candidate in (f"refs/remotes/origin/{default}", f"refs/heads/{default}"):
            if _exists(root, candidate):
                return Scope(f"{candidate}..{after}", f"push ({why}): the commits not on `{_plain(default)}`")
    return Scope(None, f"push ({why}): every commit of every ref")


def trusted_revision(inputs: Inputs, env: Mapping[str, str]) -> str | None:
    """The pull request's base commit, whose configuration and baseline gate it (for ``scan`` and
    ``audit`` alike): a pull request must not configure its own gate. None for other events."""
    event = env.get("GITHUB_EVENT_NAME", "")
    if event not in PR_EVENTS and event != "merge_group":
        return None
    payload = _payload(env)
    if event == "merge_group":
        base = (payload.get("merge_group") or {}).get("base_sha")
    else:
        base = ((payload.get("pull_request") or {}).get("base") or {}).get("sha")
    base = _commit_id(base, f"{event} base sha")
    root = _repository(inputs.path)
    if not _exists(root, base) and _shallow(root):
        _fetch_commit(root, base)
    _require(root, base, f"the {event} base, whose configuration gates it")
    return base


def _fetch_commit(root: Path, sha: str) -> None:
    """``scan`` on a shallow checkout (actions/checkout's default) needs only the base commit itself:
    fetch that one (``--depth=1``). On failure ``_require`` says how to check out the history."""
    proc = subprocess.run(["git", "-C", str(root), "fetch", "--quiet", "--no-tags", "--depth=1", "origin", sha],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=600,
                          env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    if proc.returncode == 0:
        print(f"trussguard: fetched the pull request's base commit {sha[:12]} (its configuration gates the change)")


def run_part(command: str, inputs: Inputs, scope: Scope, trusted_rev: str | None = None,
             commit_url: str | None = None) -> Part:
    """One scan or audit, in process, with its post-processed result (in triage order, with commit links when
    the CI host is known) and the ScanConfig deciding its exit code."""
    from trussguard import commands

    common = {"fail_on": inputs.fail_on, "baseline": inputs.baseline, "config_file": inputs.config,
              "trusted_rev": trusted_rev, "allow_config_changes": inputs.allow_config_changes,
              "validate": inputs.validate}
    if command == "scan":
        result, config = commands.scan_result((inputs.path,), **common)
    else:
        result, config = commands.audit_result(inputs.path, rev_range=scope.rev_range, quiet=True, **common)
    result = _relative_to_repository(result, inputs.path)
    code = result.exit_code(config)
    return Part(command, scope, present(result, Filters(commit_url=commit_url), config.fail_on), config, code)


REPORT_OUTPUTS = {"audit": "report", "scan": "scan-report"}  # with gate; a single part's report is `report`


def publish(inputs: Inputs, parts: list[Part], code: int, env: Mapping[str, str]) -> None:
    """Annotations and notes on stdout, the job summary, the JSON reports, SARIF if asked, the outputs."""
    from trussguard.report import github, json_report, sarif

    folder = Path(tempfile.mkdtemp(prefix="trussguard-", dir=env.get("RUNNER_TEMP") or None))
    outputs = {"findings": str(sum(len(p.result.findings) for p in parts)), "exit-code": str(code)}
    for part in parts:
        report = folder / f"trussguard-{part.command}.json"
        report.write_text(json_report.render(part.result), "utf-8")
        outputs[REPORT_OUTPUTS[part.command] if len(parts) > 1 else "report"] = str(report)
    if inputs.sarif:
        (folder / "trussguard.sarif").write_text(sarif.render_runs([p.result for p in parts]), "utf-8")
        outputs["sarif"] = str(folder / "trussguard.sarif")
    shown = shown_once(parts)
    for result in shown:
        sys.stdout.write(github.render(result))
    for note in dict.fromkeys(n for p in parts for n in p.result.stats.notes):
        print(f"::notice::trussguard: {escape_data(note)}")
    _append(env.get("GITHUB_STEP_SUMMARY"), job_summary(parts, shown, code))
    publish_gate_changes([c for p in parts for c in p.result.gate_changes], env)
    write_outputs(env, outputs)
    sys.stdout.flush()


def write_outputs(env: Mapping[str, str], outputs: dict[str, str]) -> None:
    if any("\n" in v or "\r" in v for v in outputs.values()):
        raise ActionError("an output value contains a line break")
    _append(env.get("GITHUB_OUTPUT"), "".join(f"{k}={v}\n" for k, v in outputs.items()))


def fail(env: Mapping[str, str], message: str, outputs: bool = True) -> int:
    """One ``::error::`` line (escaped: a crafted input cannot start another workflow command; masked:
    an error may quote a file, a path or a remote URL); exit 2."""
    from trussguard.redact import redact_text

    print(f"::error::trussguard: {escape_data(redact_text(' '.join(message.split())))}")
    if outputs:
        try:
            write_outputs(env, {"exit-code": "2"})
        except (OSError, ActionError):
            pass
    return 2


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def _payload(env: Mapping[str, str]) -> dict:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise ActionError("GITHUB_EVENT_PATH is not set: run this inside GitHub Actions")
    try:
        payload = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ActionError(f"cannot read the event payload {path}: {exc}") from None
    if not isinstance(payload, dict):
        raise ActionError(f"the event payload {path} is not a JSON object")
    return payload


def _commit_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not COMMIT_ID.fullmatch(value):
        raise ActionError(f"{what} in the event payload is not a commit id: {str(value)[:80]!r}")
    return value


def _repository(path: Path) -> Path:
    from trussguard.sources.history_git import NotARepository, repository_root

    try:
        return repository_root(path)
    except NotARepository as exc:
        raise ActionError(f"audit needs a git checkout ({exc}); {FETCH_HINT}") from None


def _exists(root: Path, rev: str) -> bool:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "-q", "--verify", "--end-of-options",
                           f"{rev}^{{commit}}"], capture_output=True).returncode == 0


def _require(root: Path, sha: str, what: str) -> None:
    if not _exists(root, sha):
        shallow = " (this is a shallow clone)" if _shallow(root) else ""
        raise ActionError(f"commit {sha[:12]} ({what}) is not in the checkout{shallow}; {FETCH_HINT}")


def _shallow(root: Path) -> bool:
    from trussguard.sources.history import is_shallow

    return is_shallow(root)


def _plain(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")


def _relative_to_repository(result, path: Path):
    """Paths relative to the repository root (annotations and SARIF need that), for a scan of a subfolder."""
    folder = Path(result.target)
    top = subprocess.run(["git", "-C", str(folder if folder.is_dir() else path), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True).stdout.strip()
    try:
        prefix = folder.resolve().relative_to(Path(top).resolve()).as_posix() if top else "."
    except ValueError:
        return result
    if prefix == ".":
        return result
    findings = [dataclasses.replace(f, path=f"{prefix}/{f.path}") for f in result.findings]
    skipped = [dataclasses.replace(s, path=f"{prefix}/{s.path}") for s in result.stats.skipped]
    return dataclasses.replace(result, target=top, findings=findings,
                               stats=dataclasses.replace(result.stats, skipped=skipped))


if __name__ == "__main__":
    raise SystemExit(main())
