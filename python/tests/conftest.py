"""Shared fixtures: the repository's fixture models, the `selectra` CLI built from the same
checkout (its numbers are the reference), and a corpus of the fixtures' Spanish texts."""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "fixtures" / "models"
EXPECTED = REPO / "tests" / "fixtures" / "expected"


def _cli() -> Path:
    if os.environ.get("SELECTRA_BIN"):
        return Path(os.environ["SELECTRA_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "selectra"


@pytest.fixture(scope="session")
def cli():
    binary = _cli()
    if not binary.is_file():
        pytest.fail(f"no selectra CLI at {binary}: build it (cargo build --bin selectra) or set SELECTRA_BIN")

    def run(*args, check=True):
        out = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and out.returncode != 0:
            raise AssertionError(f"selectra {' '.join(map(str, args))} failed: {out.stderr}")
        return out

    return run


@pytest.fixture(scope="session")
def model_dir():
    return lambda name: str(MODELS / name)


def fixture_texts():
    """Every distinct text of the fixtures' expected outputs, plus long texts made of several of
    them (longer than the fixture models, so scans take windows and runs cut them)."""
    texts = []
    for path in sorted(EXPECTED.glob("*.json")):
        data = json.loads(path.read_text())
        for section in ("inspect", "zeroshot", "embed"):
            for case in data.get(section, []):
                text = case["text"]
                wordy = any(c.isalnum() for c in text)
                if wordy and text not in texts and "\n" not in text and "\r" not in text:
                    texts.append(text)
    long = [" ".join(texts[i : i + 6]) for i in range(0, len(texts) - 6, 4)]
    return texts + long


@pytest.fixture(scope="session")
def texts():
    return fixture_texts()


@pytest.fixture()
def project(tmp_path, cli, texts):
    """A project with corpus "c" of the fixture texts (ids t0, t1, …); returns its path."""
    source = tmp_path / "c.jsonl"
    source.write_text("".join(json.dumps({"id": f"t{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)))
    db = tmp_path / "project.sqlite"
    cli("corpus", "import", "--db", db, "--name", "c", "--id-column", "id", source)
    return db
