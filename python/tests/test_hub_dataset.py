"""A corpus written as a Hugging Face dataset (`selectra corpus push --folder`, the files a push
commits) loads with `datasets.load_dataset`, offline: the card's configs pick the data file, its
YAML features name the labels, and the rows are the corpus's."""

import json

import datasets
import pytest


@pytest.fixture
def labeled(tmp_path, cli):
    rows = [
        ("El gol llegó tarde", "deportes", "radio", "3"),
        ("La bolsa cayó", "economía", "prensa", "1"),
        ("Nuevo ministro", "", "prensa", "2"),
        ("Sin clasificar", "", "web", "5"),
    ]
    path = tmp_path / "c.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for text, label, source, stars in rows:
            record = {"text": text, "label": label or None, "fuente": source, "estrellas": int(stars)}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    db = tmp_path / "p.db"
    cli("corpus", "import", "--db", db, "--name", "c", "--label-column", "label", "--metadata-columns", "fuente,estrellas", path)
    # Record 3 gets an accepted label, record 4 is discarded.
    cli("label", "--db", db, "--corpus", "c", "--search", "ministro", "--labels", "política")
    cli("label", "--db", db, "--corpus", "c", "--search", "clasificar", "--discard")
    return db


def test_the_written_dataset_loads_with_its_label_names(labeled, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    folder = tmp_path / "dataset"
    out = json.loads(cli("corpus", "push", "--db", labeled, "--corpus", "c", "--folder", folder, "--json").stdout)
    assert out["records"] == 4 and out["split"] == "train"

    ds = datasets.load_dataset(str(folder), split="train")
    assert ds.num_rows == 4
    label = ds.features["label"]
    assert isinstance(label, datasets.ClassLabel)
    assert label.names == ["deportes", "economía", "política"]
    assert ds["text"] == ["El gol llegó tarde", "La bolsa cayó", "Nuevo ministro", "Sin clasificar"]
    # The reference: gold, else the accepted annotation; a discarded record has none (-1).
    assert [label.int2str(i) if i >= 0 else None for i in ds["label"]] == ["deportes", "economía", "política", None]
    assert ds["status"] == [None, None, "accepted", "discarded"]
    assert ds["fuente"] == ["radio", "prensa", "prensa", "web"]
    assert ds["estrellas"] == [3, 1, 2, 5]
    assert ds.features["estrellas"].dtype == "int64"
    # The card's YAML, as the Hub reads it.
    card = datasets.load_dataset_builder(str(folder)).info
    assert card.splits["train"].num_examples == 4
