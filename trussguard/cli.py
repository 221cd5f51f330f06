"""The command line: parse options, call the pipeline, print, exit. Nothing else lives here
(command bodies: ``commands*``; streams and the error line: ``cli_streams``).

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage or
runtime error (one line on stderr, never a traceback). Any unexpected exception is turned
into exit 2, so a crashing scanner can never pass a CI gate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trussguard import __version__, workers
from trussguard.baseline import DEFAULT_NAME as BASELINE
from trussguard.cli_streams import error_line, flush_stdout, silence_stdout, tolerant_streams
from trussguard.engine.loader import RuleLoadError
from trussguard.results import EXIT_CLEAN, EXIT_ERROR

_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2: bare `trussguard`


def _rules_option(f):
    return click.option(
        "--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path),
        help="Extra rule file or folder (repeatable); added to the built-in rules.",
    )(f)


def _report_options(what: str):
    """Options shared by scan and audit, defined once (pip-tools' lesson)."""

    def apply(f):
        for option in reversed([
            click.option("--format", "fmt",
                         type=click.Choice(["text", "json", "sarif", "github", "markdown", "junit", "gitlab"]),
                         default="text", show_default=True,
                         help="Report format: sarif (SARIF 2.1.0), github (annotations), markdown (job summary), "
                              "junit (JUnit XML test results), gitlab (GitLab secret-detection report)."),
            click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write the report here."),
            click.option("--advisories", type=click.Path(dir_okay=False, path_type=Path),
                         help="Also write every advisory in full, as Markdown, to this file."),
            click.option("--verbose", "-v", is_flag=True,
                         help="Text report: each finding's Truss fix and every step of each advisory, every "
                              "commit and ref (default: one line of what to do per secret)."),
            click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
                         help="Baseline file: secrets acknowledged there as rotated are reported but do not fail."),
            click.option("--fail-on", default=None, show_default="high, or fail-on in the config file",
                         type=click.Choice(["low", "medium", "high", "critical"]),
                         help="Exit 1 when a finding has at least this severity."),
            click.option("--min-severity", default=None, type=click.Choice(["low", "medium", "high", "critical"]),
                         help="Show only findings of at least this severity (display only: --fail-on still "
                              "decides the exit code, and hidden findings are counted in the summary)."),
            click.option("--rule", "only_rules", multiple=True, metavar="ID",
                         help="Only this credential rule's findings are shown and counted for the exit code "
                              "(repeatable; glob, e.g. 'openai.*')."),
            click.option("--check", "only_checks", multiple=True, metavar="CODE",
                         help="Only this Truss check's findings are shown and counted for the exit code "
                              "(repeatable; glob, e.g. 'TG2*')."),
            click.option("--commit-url", metavar="TEMPLATE",
                         help="Link commits in the HTML and Markdown reports, e.g. "
                              "'https://github.com/OWNER/REPO/commit/{commit}' ({path}, {line} also filled in)."),
            click.option("--max-file-size", default=None, show_default="10MiB, or max-file-size in the config file",
                         help=f"Scan {what} larger than this in chunks, by the rules only (not parsed), e.g. 500KB."),
            click.option("--show-secrets", is_flag=True, help="Print full secret values (never use in CI logs)."),
            click.option("--validate", is_flag=True,
                         help="Ask each secret's provider, with one read-only request, whether it still works "
                              "(live, revoked or unknown); off by default, never with --staged."),
            click.option("--exit-zero", is_flag=True,
                         help="Report only: exit 0 even with findings at or above --fail-on (still 2 on errors)."),
            click.option(*(("--allow-missing", "--allow-unreadable") if what == "blobs" else ("--allow-unreadable",)),
                         "allow_unreadable", is_flag=True,
                         help=f"Exit 0/1 even if some {what} could not be read (they are still reported)."),
            click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Worker processes (default: CPU count)."),
            click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                         help="Use this configuration file instead of the nearest .trussguard.toml / pyproject.toml."),
        ]):
            f = option(f)
        return f

    return apply


def _gate_options(f):
    """Pull-request mode: the change being gated does not get to configure its own gate."""
    for option in reversed([
        click.option("--trusted-rev", metavar="REV",
                     help="Read the configuration and the baseline from this git revision (the pull request's "
                          "base), not from the files being checked; list, and fail on, what the change widens. "
                          "`audit --range BASE..HEAD` implies --trusted-rev BASE."),
        click.option("--allow-config-changes", is_flag=True,
                     help="Accept a change that widens the configuration or the baseline (after review): the "
                          "changed settings apply, the changes are still listed."),
    ]):
        f = option(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trussguard")
def cli() -> None:
    """Keep credentials out of Truss model repositories."""


@cli.command(short_help="Scan a working tree, or the staged change, for credentials.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_rules_option
@_report_options("files")
@click.option("--no-detect-secrets", is_flag=True, help="Do not run the detect-secrets plugins on Truss files.")
@click.option("--no-decode", is_flag=True, help="Do not look inside base64 and percent-encoded runs.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the rule cache.")
@click.option("--staged", is_flag=True,
              help="Scan what is about to be committed: the index version of each staged file (pre-commit).")
@_gate_options
def scan(**options) -> None:
    """Scan a working tree (default: the current directory) for embedded credentials."""
    from trussguard.commands import run_scan

    sys.exit(run_scan(**options))


@cli.command(short_help="Audit every commit of every branch for leaked credentials.")
@click.argument("repo", default=".", type=click.Path(path_type=Path))
@click.option("--refs", "ref_patterns", multiple=True,
              help="Only refs matching this glob (full or short name; repeatable), e.g. 'refs/heads/*'.")
@click.option("--include-unreachable", is_flag=True,
              help="Also audit commits no ref reaches (amended or rebased away, dropped stashes).")
@click.option("--since", metavar="REV", help="Only commits not reachable from REV (e.g. origin/main).")
@click.option("--range", "rev_range", metavar="BASE..HEAD", help="Only the commits of this range (a pull request).")
@click.option("--cache", "blob_cache", type=click.Path(file_okay=False, path_type=Path),
              help="Per-blob result cache folder (default: the user cache folder).")
@click.option("--no-cache", is_flag=True, help="Do not read or write any cache.")
@click.option("--recurse-submodules", is_flag=True, help="Also audit checked-out submodules' repositories.")
@click.option("--allow-shallow", is_flag=True,
              help="Audit a shallow clone's fetched commits only (a note, not exit 2); "
                   "`git fetch --unshallow` is better.")
@click.option("--html", "html_report", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report (summary, timeline, advisories, scope).")
@click.option("--evidence", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write an evidence document for auditors (scope, versions, leaks by fingerprint) as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@_rules_option
@_report_options("blobs")
@_gate_options
def audit(**options) -> None:
    """Audit every blob reachable from every ref of a git repository (default: the current one).

    Reports who introduced each leak, when, in which commit and path, and whether it is still at HEAD.
    """
    from trussguard.commands import run_audit

    sys.exit(run_audit(**options))


@cli.group(short_help="Acknowledge known findings in a baseline file.")
def baseline() -> None:
    """Acknowledge known findings in .trussguard-baseline.json: create it, update it, or import a
    detect-secrets baseline."""


def _baseline_options(f):
    for option in reversed([
        click.option("--baseline", "path", type=click.Path(dir_okay=False, path_type=Path),
                     default=Path(BASELINE), show_default=True, help="The baseline file."),
        click.option("--reason", default="accepted when the baseline was created", show_default=True,
                     help="Why these findings are acknowledged."),
        click.option("--by", "who", help="Who acknowledges them (default: git user.name, else $USER)."),
        click.option("--history", is_flag=True, help="Baseline the findings of the git history (audit), not the tree."),
        click.option("--allow-shallow", is_flag=True, help="With --history: accept a shallow clone's partial history."),
    ]):
        f = option(f)
    return f


@baseline.command("create", short_help="Write a baseline of every current finding.")
@click.argument("target", default=".", type=click.Path(path_type=Path))
@_baseline_options
def baseline_create(**options) -> None:
    """Write a new baseline holding every current finding of TARGET."""
    from trussguard.commands_baseline import run_baseline

    sys.exit(run_baseline("create", **options))


@baseline.command("update", short_help="Add new findings, drop entries nothing matches.")
@click.argument("target", default=".", type=click.Path(path_type=Path))
@_baseline_options
def baseline_update(**options) -> None:
    """Add the new findings of TARGET, drop the entries nothing matches any more."""
    from trussguard.commands_baseline import run_baseline

    sys.exit(run_baseline("update", **options))


@baseline.command("import-detect-secrets", short_help="Import a detect-secrets .secrets.baseline.")
@click.argument("secrets_baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--baseline", "path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(BASELINE), show_default=True, help="The baseline file.")
@click.option("--by", "who", help="Who imports it (default: git user.name, else $USER).")
def baseline_import(secrets_baseline: Path, path: Path, who: str | None) -> None:
    """Acknowledge what a detect-secrets .secrets.baseline acknowledges (by its hashed secrets)."""
    from trussguard.commands_baseline import run_baseline_import

    sys.exit(run_baseline_import(secrets_baseline, path, who))


@cli.command(short_help="Record that a leaked secret was rotated.")
@click.argument("advisory")
@click.option("--by", "rotated_by", help="Who rotated it (required without --verify).")
@click.option("--reference", help="A ticket or change reference.")
@click.option("--at", "rotated_at", metavar="YYYY-MM-DD", help="When it was rotated (default: today).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=Path(BASELINE),
              show_default=True, help="The baseline file to record it in (created if missing).")
@click.option("--verify", is_flag=True,
              help="Prove it: find the old secret by auditing --path, ask its provider (one read-only request) "
                   "and record 'verified revoked' only if the provider rejects it; exit 1 if it still works.")
@click.option("--path", "repo", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="With --verify: the repository whose history holds the secret.")
def rotated(advisory: str, rotated_by: str | None, reference: str | None, rotated_at: str | None, baseline: Path,
            verify: bool, repo: Path) -> None:
    """Record that the secret of ADVISORY (adv-... or its SHA-256) was rotated: it stays reported, no longer fails."""
    from trussguard.commands_baseline import run_rotated

    sys.exit(run_rotated(advisory, rotated_by, reference, rotated_at, baseline, verify, repo))


@cli.command(short_help="Scan a throwaway Truss with planted fake leaks.")
@click.option("--keep", is_flag=True, help="Keep the demo repository and print its path.")
def demo(keep: bool) -> None:
    """Build a throwaway Truss with fake leaks, scan it, and show the report."""
    from trussguard.demo import run_demo

    sys.exit(run_demo(keep=keep))


@cli.command(short_help="Explain a Truss policy check or a credential rule.")
@click.argument("code")
def explain(code: str) -> None:
    """Explain a Truss policy check (such as TG101) or a credential rule (such as huggingface.user-token)."""
    from trussguard.commands_rules import run_explain

    sys.exit(run_explain(code))


@cli.group()
def rules() -> None:
    """List and check credential rules."""


@rules.command("list", short_help="List the credential rules and the Truss checks.")
@_rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_list(rule_dirs: tuple[Path, ...], fmt: str) -> None:
    """List the credential rules and the Truss policy checks."""
    from trussguard.commands_rules import run_rules_list

    sys.exit(run_rules_list(list(rule_dirs), fmt))


@rules.command("check", short_help="Validate rule files and run their examples.")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--seed", type=int, help="Seed for the generated example tokens (default: random).")
def rules_check(dirs: tuple[Path, ...], seed: int | None) -> None:
    """Validate rule files and run every example through the scanner's engine.

    With no DIRS, checks the built-in rules; with DIRS, checks only those files or folders.
    """
    from trussguard.commands_rules import run_rules_check

    sys.exit(run_rules_check(list(dirs), seed))


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps every failure to exit 2 with a one-line message (masked by the redactor:
    an error may quote a file, a path or a URL), Ctrl-C to 130 and SIGTERM to 143."""
    previous = workers.install_parent_handlers()  # first: a Ctrl-C from here on is one line and 130
    workers.tune_collector()
    tolerant_streams()
    try:
        code = _run(argv)
        workers.check_signalled()  # a signal whose exception something swallowed still counts
        flush_stdout()
        return code
    except (KeyboardInterrupt, click.exceptions.Abort):
        workers.stop_workers()
        error_line("trussguard: interrupted")
        return 130
    except workers.Terminated:
        workers.stop_workers()
        error_line("trussguard: terminated (SIGTERM); no report written")
        return 143
    except BrokenPipeError:
        silence_stdout()
        error_line("trussguard: error: standard output was closed before the report was written "
                   "(use --output FILE to write it to a file)")
        return EXIT_ERROR
    finally:
        workers.restore_handlers(previous)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="trussguard", standalone_mode=False)
    except SystemExit as exc:
        # click's answer to EPIPE is exit 1 (read as "findings") with this wrapper on stdout
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            raise BrokenPipeError(32, "standard output closed") from None
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except _NO_ARGS_IS_HELP as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        return EXIT_ERROR
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        error_line(f"trussguard: error: {exc.format_message()}{hint}")
        return EXIT_ERROR
    except click.ClickException as exc:
        error_line(f"trussguard: error: {exc.format_message()}")
        return EXIT_ERROR
    except RuleLoadError as exc:
        for problem in exc.problems:
            error_line(f"trussguard: rule error: {problem}")
        return EXIT_ERROR
    except (KeyboardInterrupt, click.exceptions.Abort, BrokenPipeError):
        raise
    except Exception as exc:  # fail closed: a crash must never look like a clean scan
        error_line(f"trussguard: error: {type(exc).__name__}: {exc}")
        return EXIT_ERROR
    return EXIT_CLEAN
