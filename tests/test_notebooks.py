"""Notebooks read as code (issue 14): each cell's decoded source and text outputs go through the rules,
binary outputs do not, findings carry the file line of the escaped text AND the cell and its line, and
the Python checks run on the code cells of notebooks shipped with a Truss.

Every credential is generated at run time from the rule's token template (``fake_token``); the
base64 "image" is random filler built here.
"""

from __future__ import annotations

import json
import random
import string

import pytest

from trussguard import pipeline
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.pipeline import scan_tree
from trussguard.report import json_report, sarif, text
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.sources import notebook
from trussguard.sources.content import decode
from trussguard.types import CellPlace, Fragment

MISTRAL = "mistral.api-key"
HF = "huggingface.user-token"
AWS = "aws.access-key-id"


@pytest.fixture(scope="module")
def ctx(ruleset) -> UnitContext:
    return UnitContext(Detector(ruleset, None, False, 1), frozenset(), 1 << 20)


def _code(*lines: str, outputs: list | None = None) -> dict:
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs or [],
            "source": list(lines)}


def _notebook(*cells: dict) -> bytes:
    """As Jupyter writes it: one JSON string per source line, indent 1."""
    doc = {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(doc, indent=1) + "\n").encode()


def _scan(ctx, path: str, data: bytes):
    return scan_unit(Unit((path,), Fragment(path, data)), ctx)


def _file_line(data: bytes, line: int) -> str:
    return data.decode().splitlines()[line - 1]


def test_a_keyword_anchored_key_in_a_code_cell_is_found_at_its_file_line_cell_and_cell_line(ctx, fake_token):
    key = fake_token(MISTRAL)
    data = _notebook({"cell_type": "markdown", "metadata": {}, "source": ["# Try Mistral"]},
                     _code("from mistralai import Mistral\n", "\n", f'client = Mistral(api_key="{key}")\n',
                           "client.models.list()"))
    result = _scan(ctx, "try.ipynb", data)
    [m] = [m for m in result.matches if m.rule_id == MISTRAL]
    assert m.secret == key and m.cell == CellPlace(2, 3) and m.decoded is None
    line = _file_line(data, m.line)
    assert line.strip() == json.dumps(f'client = Mistral(api_key="{key}")\n') + ","  # the escaped text
    assert line[m.column - 1:].startswith(key)  # the column points at the secret in the file
    assert data[m.start:m.end] == key.encode()  # offsets are the file's own
    assert result.notes == []


def test_the_plain_json_of_a_cell_alone_does_not_match_the_keyword_rule(ctx, fake_token):
    """Why the cells are decoded: the rule's quote anchor meets a backslash in the escaped text."""
    key = fake_token(MISTRAL)
    data = _notebook(_code(f'client = Mistral(api_key="{key}")\n'))
    assert [m.rule_id for m in ctx.detector.detect("try.json", data, False)] == []
    assert [m.rule_id for m in _scan(ctx, "try.ipynb", data).matches] == [MISTRAL]


def test_a_token_printed_in_a_stream_output_is_found_in_its_cell(ctx, fake_token):
    token = fake_token(HF)
    stream = {"name": "stdout", "output_type": "stream", "text": ["loaded\n", f"token: {token}\n"]}
    data = _notebook(_code("import os\n", "print('token:', os.environ['HF_TOKEN'])", outputs=[stream]))
    [m] = _scan(ctx, "nb.ipynb", data).matches
    assert (m.rule_id, m.secret, m.cell) == (HF, token, CellPlace(1, 2, output=True))
    assert _file_line(data, m.line)[m.column - 1:].startswith(token)


def test_text_plain_and_error_outputs_are_scanned(ctx, fake_token):
    shown, raised = fake_token(HF), fake_token(HF)
    outputs = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"text/plain": [f"'{shown}'"]}},
               {"output_type": "error", "ename": "ValueError", "evalue": "bad",
                "traceback": ["\u001b[0;31mValueError\u001b[0m", f"bad token {raised}"]}]
    data = _notebook(_code("token", outputs=outputs))
    found = {m.secret: m.cell for m in _scan(ctx, "nb.ipynb", data).matches}
    # the error output reads: its evalue, then each traceback line on a line of its own
    assert found == {shown: CellPlace(1, 1, output=True), raised: CellPlace(1, 3, output=True)}


def _base64_with(run: str, rng: random.Random) -> str:
    """A PNG-like base64 payload with ``run`` inside, delimited by base64's own `/` and `+`."""
    alphabet = string.ascii_letters + string.digits + "+/"
    filler = "".join(rng.choice(alphabet) for _ in range(4000))
    return "iVBORw0KGgo" + filler[:2000] + "/" + run + "+" + filler[2000:] + "=="


def test_a_token_shaped_run_inside_a_base64_image_output_is_not_matched(ctx, fake_token):
    run = fake_token(AWS, "id")
    payload = _base64_with(run, random.Random(14))
    assert [m.rule_id for m in _scan(ctx, "image.txt", payload.encode()).matches] == [AWS]  # as bare text: matched
    image = {"output_type": "display_data", "metadata": {},
             "data": {"image/png": payload, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}
    data = _notebook(_code("plt.plot(xs)", outputs=[image]))
    assert _scan(ctx, "plot.ipynb", data).matches == []
    view = notebook.read(data)
    assert view.blanked == 1 and run.encode() not in view.plain and len(view.plain) == len(data)


def test_a_binary_mime_value_that_is_not_base64_is_still_scanned(ctx, fake_token):
    """Only base64 is blanked: text hidden under an image MIME type is read as written."""
    token = fake_token(HF)
    data = _notebook(_code("x", outputs=[{"output_type": "display_data", "metadata": {},
                                          "data": {"image/png": f"token: {token}"}}]))
    assert [m.secret for m in _scan(ctx, "nb.ipynb", data).matches] == [token]


def test_invalid_json_gets_a_note_and_the_plain_scan(ctx, fake_token):
    token, key = fake_token(HF), fake_token(MISTRAL)
    data = _notebook(_code(f"HF_TOKEN = '{token}'\n", f'client = Mistral(api_key="{key}")'))[:-40]
    result = _scan(ctx, "broken.ipynb", data)
    assert [n for n in result.notes if "broken.ipynb: not valid JSON" in n and "plain JSON" in n]
    found = {m.rule_id: m for m in result.matches}
    assert found[HF].secret == token and found[HF].cell is None  # the plain rules
    assert found[MISTRAL].secret == key  # and escaped strings still read unescaped


def test_a_json_document_that_is_not_a_notebook_gets_a_note(ctx):
    result = _scan(ctx, "weird.ipynb", b'{"name": "not a notebook"}\n')
    assert result.matches == [] and result.notes == ["weird.ipynb: not a notebook (no cells); scanned as a plain "
                                                     "JSON file, not as a notebook"]


def test_nbformat_3_cells_are_read(ctx, fake_token):
    key = fake_token(MISTRAL)
    doc = {"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["import mistralai\n", f"client = Mistral(api_key='{key}')"], "outputs": []}]}]}
    [m] = _scan(ctx, "old.ipynb", json.dumps(doc, indent=1).encode()).matches
    assert (m.secret, m.cell) == (key, CellPlace(1, 2))


def test_a_notebook_blob_in_history_is_read_as_a_notebook(ctx, fake_token):
    """The history audit and the staged scan hand ``scan_unit`` a ``Decoded`` blob: the same reading."""
    key = fake_token(MISTRAL)
    data = _notebook(_code(f'client = Mistral(api_key="{key}")'))
    [m] = scan_unit(Unit(("nb.ipynb",), decode(data), "0" * 40), ctx).matches
    assert (m.secret, m.cell) == (key, CellPlace(1, 1))


def _truss(root, notebook_bytes: bytes, where: str) -> None:
    (root / "truss" / "model").mkdir(parents=True)
    (root / "truss" / "config.yaml").write_text("model_name: m\nsecrets:\n  mistral_api_key: null\n")
    (root / "truss" / "model" / "model.py").write_text(
        "class Model:\n    def __init__(self, **kwargs):\n        self._secrets = kwargs['secrets']\n\n"
        "    def load(self):\n        self.key = self._secrets['mistral_api_key']\n")
    target = root / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(notebook_bytes)


def _magic_notebook(key: str) -> bytes:
    return _notebook(_code("%pip install mistralai\n", "!nvidia-smi\n", "files = !ls\n", "for f in files:\n",
                           "    !echo $f\n"),
                     _code("%%bash\n", "echo not python ${\n"),
                     _code("from mistralai import Mistral\n", f'MISTRAL_API_KEY = "{key}"\n',
                           "client = Mistral(api_key=MISTRAL_API_KEY)"))


def test_the_python_checks_fire_on_a_truss_notebook_cell(tmp_path, fake_token):
    key = fake_token(MISTRAL)
    data = _magic_notebook(key)
    _truss(tmp_path, data, "truss/data/explore.ipynb")
    result = scan_tree(ScanConfig(paths=(tmp_path,), cache_dir=None, jobs=1))
    [f] = [f for f in result.findings if f.path == "truss/data/explore.ipynb"]
    assert (f.rule_id, f.check, f.cell) == (MISTRAL, "TG201", CellPlace(3, 2))  # the rule's finding, with TG201
    assert key in _file_line(data, f.line) and not [n for n in result.stats.notes if "explore.ipynb" in n]


def test_the_python_checks_do_not_run_on_a_notebook_outside_any_truss(tmp_path, fake_token):
    key = fake_token(MISTRAL)
    _truss(tmp_path, _magic_notebook(key), "notebooks/explore.ipynb")
    result = scan_tree(ScanConfig(paths=(tmp_path,), cache_dir=None, jobs=1))
    [f] = [f for f in result.findings if f.path == "notebooks/explore.ipynb"]
    assert (f.rule_id, f.check, f.cell) == (MISTRAL, None, CellPlace(3, 2))  # the credential rule only


def test_a_cell_that_is_not_python_is_left_out_with_a_note(tmp_path, fake_token):
    key = fake_token(MISTRAL)
    data = _notebook(_code("def broken(:\n"), _code(f'MISTRAL_API_KEY = "{key}"'))
    _truss(tmp_path, data, "truss/model/explore.ipynb")
    result = scan_tree(ScanConfig(paths=(tmp_path,), cache_dir=None, jobs=1))
    assert [f.check for f in result.findings if f.path == "truss/model/explore.ipynb"] == ["TG201"]
    assert [n for n in result.stats.notes if "explore.ipynb: cell 1 is not valid Python" in n]


def _key(f):
    return f.path, f.line, f.column, f.rule_id, f.check, f.secret_sha256, f.cell, f.message


def test_a_warm_scan_reports_what_a_cold_scan_reports(tmp_path, fake_token, monkeypatch):
    key, token = fake_token(MISTRAL), fake_token(HF)
    data = _magic_notebook(key)
    doc = json.loads(data)
    doc["cells"].append(_code("import os\n", "hf = os.environ['HF_TOKEN']"))  # TG205: a hit without a value
    data = json.dumps(doc, indent=1).encode()
    _truss(tmp_path / "repo", data, "truss/data/explore.ipynb")
    stream = {"name": "stdout", "output_type": "stream", "text": [f"{token}\n"]}
    (tmp_path / "repo" / "printed.ipynb").write_bytes(_notebook(_code("print(t)", outputs=[stream])))
    (tmp_path / "repo" / "broken.ipynb").write_bytes(data[:-30])
    config = ScanConfig(paths=(tmp_path / "repo",), cache_dir=tmp_path / "cache", jobs=1)
    cold = scan_tree(config)
    scanned = []
    real = pipeline.scan_unit
    monkeypatch.setattr(pipeline, "scan_unit", lambda unit, ctx: scanned.append(unit.path) or real(unit, ctx))
    warm = scan_tree(config)
    assert scanned == []  # every notebook's unit came from the cache, its secrets read back at their offsets
    assert sorted(map(_key, warm.findings)) == sorted(map(_key, cold.findings))
    assert {(f.rule_id, f.cell) for f in cold.findings if f.path.endswith(".ipynb") and f.path != "broken.ipynb"} \
        == {(MISTRAL, CellPlace(3, 2)), (HF, CellPlace(1, 1, output=True)), ("TG205", CellPlace(4, 2))}
    assert warm.stats.notes == cold.stats.notes and [n for n in cold.stats.notes if "broken.ipynb" in n]


def test_reports_show_the_cell(tmp_path, fake_token):
    key = fake_token(MISTRAL)
    _truss(tmp_path, _notebook(_code(f'client = Mistral(api_key="{key}")')), "nb/try.ipynb")
    result = scan_tree(ScanConfig(paths=(tmp_path,), cache_dir=None, jobs=1))
    [f] = [f for f in result.findings if f.path == "nb/try.ipynb"]
    assert json_report.finding_dict(f)["cell"] == {"index": 1, "line": 1, "output": False}
    [res] = [r for r in sarif.to_sarif(result)["runs"][0]["results"] if r["ruleId"] == MISTRAL]
    assert res["properties"]["notebookCell"] == 1 and res["properties"]["notebookCellLine"] == 1
    assert "(cell 1, line 1)" in text.render(result)
