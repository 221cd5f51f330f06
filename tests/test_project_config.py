"""The project configuration file (``.trussguard.toml`` / ``[tool.trussguard]``): parsing, lookup, matching."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from trussguard.project_config import ConfigError, ProjectConfig, find_config, load_config, load_nearest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def dot(folder: Path, text: str) -> Path:
    return write(folder / ".trussguard.toml", text)


def pyproject(folder: Path, body: str) -> Path:
    return write(folder / "pyproject.toml", "[project]\nname = 'x'\n\n[tool.trussguard]\n" + textwrap.dedent(body))


# --- every key, both spellings -------------------------------------------------------------------

@pytest.mark.parametrize("key", ["fail-on", "fail_on"])
def test_fail_on_both_spellings_lowercased(tmp_path, key):
    assert load_config(dot(tmp_path, f'{key} = "Critical"\n')).fail_on == "critical"


@pytest.mark.parametrize("kebab", [True, False])
def test_every_key_parsed_from_pyproject(tmp_path, kebab):
    (tmp_path / "my-rules").mkdir()
    k = (lambda s: s) if kebab else (lambda s: s.replace("-", "_"))
    cfg = load_config(pyproject(tmp_path, f"""\
        {k('fail-on')} = "medium"
        enable = ["aws.*", "TG1*"]
        disable = ["generic.*"]
        rules = ["my-rules"]
        exclude = ["*.ipynb", "/build"]
        {k('allow-values')} = ["changeme", "<your-token>"]
        {k('max-file-size')} = "2MiB"
        {k('cache-dir')} = ".cache/tg"
    """))
    assert cfg == ProjectConfig(
        path=(tmp_path / "pyproject.toml").resolve(), fail_on="medium", enable=("aws.*", "TG1*"),
        disable=("generic.*",), rules=((tmp_path / "my-rules").resolve(),), exclude=("*.ipynb", "/build"),
        allow_values=("changeme", "<your-token>"), max_file_size="2MiB",
        cache_dir=(tmp_path / ".cache/tg").resolve(),
    )


def test_max_file_size_in_bytes_kept_as_given(tmp_path):
    assert load_config(dot(tmp_path, "max_file_size = 1048576\n")).max_file_size == 1048576


def test_empty_file_gives_defaults_with_path(tmp_path):
    cfg = load_config(dot(tmp_path, ""))
    assert cfg == ProjectConfig(path=(tmp_path / ".trussguard.toml").resolve())


def test_dot_file_accepts_tool_table(tmp_path):
    assert load_config(dot(tmp_path, '[tool.trussguard]\nfail-on = "low"\n')).fail_on == "low"


def test_dot_file_rejects_top_level_keys_beside_tool_table(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        load_config(dot(tmp_path, 'fail-on = "low"\n[tool.trussguard]\nenable = []\n'))


def test_both_spellings_of_one_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="given twice"):
        load_config(dot(tmp_path, 'fail-on = "low"\nfail_on = "high"\n'))


# --- relative paths ------------------------------------------------------------------------------

def test_paths_resolve_against_config_folder_not_cwd(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "rules" / "team").mkdir(parents=True)
    write(project / "extra.yaml", "rules: []\n")
    cfg_file = dot(project, 'rules = ["rules/team", "./extra.yaml"]\ncache-dir = "../cache"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("proj/.trussguard.toml"))
    assert cfg.rules == ((project / "rules/team").resolve(), (project / "extra.yaml").resolve())
    assert cfg.cache_dir == (tmp_path / "cache").resolve()
    assert cfg.path == cfg_file.resolve()


def test_cache_dir_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_config(dot(tmp_path, 'cache-dir = "~/tg-cache"\n')).cache_dir == (tmp_path / "home/tg-cache").resolve()


def test_missing_rules_path_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="'rules' entry .*nope.* does not exist"):
        load_config(dot(tmp_path, 'rules = ["nope"]\n'))


# --- find_config ---------------------------------------------------------------------------------

def test_find_walks_up_from_a_file(tmp_path):
    cfg = dot(tmp_path, "")
    model = write(tmp_path / "truss/model/model.py", "")
    assert find_config(model) == cfg.resolve()
    assert find_config(model.parent) == cfg.resolve()


def test_find_stops_at_repository_root(tmp_path):
    dot(tmp_path, 'fail-on = "low"\n')  # above the repository: must not be used
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert find_config(repo / "sub") is None
    assert load_nearest(repo / "sub") == ProjectConfig()


def test_find_uses_config_at_repository_root(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    cfg = dot(repo, "")
    assert find_config(repo / "a" / "b.py") == cfg.resolve()


def test_git_file_also_marks_a_repository_root(tmp_path):
    dot(tmp_path, "")
    repo = tmp_path / "worktree"
    write(repo / ".git", "gitdir: /elsewhere\n")
    assert find_config(repo) is None


def test_pyproject_without_table_is_skipped(tmp_path):
    outer = pyproject(tmp_path, 'fail-on = "critical"\n')
    inner = write(tmp_path / "pkg/pyproject.toml", "[project]\nname = 'pkg'\n[tool.ruff]\nline-length = 99\n")
    assert find_config(inner.parent) == outer.resolve()
    assert load_nearest(inner.parent).fail_on == "critical"


def test_dot_file_preferred_over_pyproject_in_same_folder(tmp_path):
    pyproject(tmp_path, 'fail-on = "low"\n')
    cfg = dot(tmp_path, 'fail-on = "high"\n')
    assert find_config(tmp_path) == cfg.resolve()
    assert load_nearest(tmp_path).fail_on == "high"


def test_nearest_folder_wins(tmp_path):
    dot(tmp_path, 'fail-on = "low"\n')
    inner = pyproject(tmp_path / "sub", 'fail-on = "critical"\n')
    assert find_config(tmp_path / "sub" / "x.py") == inner.resolve()


def test_load_nearest_without_any_file(tmp_path):
    (tmp_path / ".git").mkdir()
    assert load_nearest(tmp_path) == ProjectConfig()


# --- errors --------------------------------------------------------------------------------------

def test_unknown_key_suggests_nearest(tmp_path):
    cfg = pyproject(tmp_path, 'fail_onn = "high"\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert str(err.value) == f"{cfg}: unknown key 'fail_onn' in [tool.trussguard]; did you mean 'fail-on'?"


@pytest.mark.parametrize(("key", "suggestion"), [("exlude", "exclude"), ("allow_value", "allow-values"),
                                                 ("cache-directory", "cache-dir"), ("disabled", "disable")])
def test_misspellings_suggest(tmp_path, key, suggestion):
    with pytest.raises(ConfigError, match=f"unknown key '{key}' in the top level; did you mean '{suggestion}'"):
        load_config(dot(tmp_path, f"{key} = []\n"))


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'verbosity'.*valid keys: fail-on, enable"):
        load_config(dot(tmp_path, "verbosity = 3\n"))


def test_pyproject_subtable_is_an_unknown_key(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'per-file'"):
        load_config(pyproject(tmp_path, '[tool.trussguard.per-file]\n"a.py" = []\n'))


@pytest.mark.parametrize(("text", "message"), [
    ('exclude = "x"\n', "'exclude' must be a list of strings, got 'x'"),
    ('enable = ["aws.*", 3]\n', "'enable' must be a list of strings"),
    ("allow-values = {a = 1}\n", "'allow-values' must be a list of strings"),
    ('rules = "rules"\n', "'rules' must be a list of strings"),
    ('fail-on = "severe"\n', "'fail-on' must be one of low, medium, high, critical, got 'severe'"),
    ("fail-on = 3\n", "'fail-on' must be one of"),
    ('max-file-size = "big"\n', "'max-file-size' must be a size"),
    ("max-file-size = -1\n", "'max-file-size' must be a size"),
    ("max-file-size = true\n", "'max-file-size' must be a size"),
    ("cache-dir = 1\n", "'cache-dir' must be a string, got int"),
    ('exclude = ["!"]\n', "'exclude' has an invalid pattern"),
    ("tool = 1\n", "unknown key 'tool'"),
])
def test_wrong_values(tmp_path, text, message):
    cfg = dot(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(cfg)
    assert str(err.value).startswith(f"{cfg}: ")


def test_tool_trussguard_not_a_table(tmp_path):
    with pytest.raises(ConfigError, match=r"\[tool.trussguard\] must be a table"):
        load_config(write(tmp_path / "pyproject.toml", "[tool]\ntrussguard = 1\n"))


def test_toml_syntax_error_names_path_in_one_line(tmp_path):
    cfg = dot(tmp_path, 'fail-on = "high"\nexclude = ["a" "b"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    message = str(err.value)
    assert message.startswith(f"{cfg}: invalid TOML: ") and "line 2" in message
    assert "\n" not in message and "Traceback" not in message
    assert err.value.__suppress_context__  # raised `from None`: no chained traceback


def test_toml_syntax_error_in_pyproject_found_while_walking(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.trussguard\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        find_config(tmp_path)


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / ".trussguard.toml")


# --- excluded: gitignore semantics ---------------------------------------------------------------

PATTERNS = ("models/*/data/", "*.ipynb", "!keep.ipynb", "/build", "**/fixtures/**",
            "!models/a/data/keep.txt", "logs/")
CASES = {
    "models/a/data/x.bin": True,
    "models/a/b/data/x": False,        # `*` does not cross `/`
    "models/a/data": False,            # not known to be a folder: dir-only pattern does not apply
    "models/a/data/": True,
    "nb/a.ipynb": True,                # no inner `/`: any depth
    "a.ipynb": True,
    "a.ipynb.txt": False,
    "nb/keep.ipynb": False,            # negation re-includes
    "build": True,
    "build/x": True,
    "src/build/x": False,              # leading `/` anchors to the config folder
    "a/fixtures/b/c": True,
    "fixtures/x": True,
    "models/a/data/keep.txt": True,    # git cannot re-include a file below an excluded folder
    "x/logs/y.txt": True,
    "logs/": True,
    "src/model.py": False,
}


@pytest.mark.parametrize(("rel", "expected"), CASES.items())
def test_excluded_gitignore_semantics(rel, expected):
    assert ProjectConfig(exclude=PATTERNS).excluded(rel) is expected


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_excluded_agrees_with_git_check_ignore(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("\n".join(PATTERNS) + "\n")
    for rel in CASES:
        git = subprocess.run(["git", "check-ignore", "-q", "--no-index", rel], cwd=tmp_path).returncode == 0
        assert ProjectConfig(exclude=PATTERNS).excluded(rel) is git, rel


def test_excluded_edge_inputs():
    cfg = ProjectConfig(exclude=("*.ipynb",))
    assert cfg.excluded("./nb/a.ipynb")
    assert not cfg.excluded("../outside/a.ipynb")
    assert not cfg.excluded("")
    assert not ProjectConfig().excluded("a.ipynb")


def test_excluded_from_loaded_file(tmp_path):
    cfg = load_config(dot(tmp_path, 'exclude = ["**/fixtures/**", "!keep.ipynb", "*.ipynb"]\n'))
    assert cfg.excluded("tests/fixtures/key.txt")
    assert cfg.excluded("keep.ipynb")  # last matching pattern wins: the negation came first


# --- rule_enabled --------------------------------------------------------------------------------

def test_everything_enabled_by_default():
    assert ProjectConfig().rule_enabled("aws.access-key-id")
    assert ProjectConfig().rule_enabled("TG101")


def test_disable_glob():
    cfg = ProjectConfig(disable=("generic.*",))
    assert not cfg.rule_enabled("generic.high-entropy-assignment")
    assert cfg.rule_enabled("aws.access-key-id")
    assert cfg.rule_enabled("genericx.thing")


def test_enable_globs_and_codes():
    cfg = ProjectConfig(enable=("aws.*", "TG1*"))
    assert cfg.rule_enabled("aws.secret-access-key")
    assert cfg.rule_enabled("TG101") and cfg.rule_enabled("tg115")
    assert not cfg.rule_enabled("TG201")
    assert not cfg.rule_enabled("huggingface.user-token")


def test_disable_applies_after_enable():
    cfg = ProjectConfig(enable=("aws.*", "TG1*"), disable=("aws.secret-*", "TG115"))
    assert cfg.rule_enabled("aws.access-key-id")
    assert not cfg.rule_enabled("aws.secret-access-key")
    assert not cfg.rule_enabled("TG115")
    assert cfg.rule_enabled("TG114")


def test_exact_rule_id_without_glob():
    cfg = ProjectConfig(disable=("TG208",))
    assert not cfg.rule_enabled("TG208")
    assert cfg.rule_enabled("TG2080")


# --- allowed -------------------------------------------------------------------------------------

def test_allow_values_exact_match_only():
    cfg = ProjectConfig(allow_values=("changeme", "hf_xxxxxxxx"))
    assert cfg.allowed("changeme") and cfg.allowed("hf_xxxxxxxx")
    assert not cfg.allowed("changeme2")
    assert not cfg.allowed("CHANGEME")
    assert not cfg.allowed("hf_xxxx")
    assert not cfg.allowed("")
    assert not ProjectConfig().allowed("changeme")


def test_allow_values_by_sha256():
    """`sha256:<hex>` names a value by its hash, so a key-shaped sample need not be written in the file."""
    import hashlib
    import random
    from trussguard.engine import tokens
    value = tokens.expand_template("{24:A-Za-z0-9}", random.Random(5))
    cfg = ProjectConfig(allow_values=("sha256:" + hashlib.sha256(value.encode()).hexdigest(),))
    assert cfg.allowed(value)
    assert not cfg.allowed(value + "x") and not cfg.allowed("sha256:" + hashlib.sha256(value.encode()).hexdigest())
    assert ProjectConfig(allow_values=("sha256:ABC",)).allowed("sha256:ABC")  # not a digest: an exact value
