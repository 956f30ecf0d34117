"""The Python package computes exactly what the CLI computes (bit for bit, float32), on the
repository's fixture models."""

import json
import struct
import sys
import threading
import time

import pyarrow as pa
import pytest

import selectra

DISCRIMINATORS = ["disc-vocab-bin", "disc-project-tokjson"]
CLASSIFIERS = ["nli-electra-entail0", "nli-roberta-tokjson", "nli-xlmr-tokjson"]
LABELS = ["deportes", "política", "economía"]


def argument_texts(texts):
    """Texts a command line can take as an argument (no NUL)."""
    return [t for t in texts if "\x00" not in t]


def f32(x):
    """A number the CLI printed, as the float32 it was (the CLI prints float32 round-trip)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_inspect_equals_the_cli(cli, model_dir, texts, name):
    model = selectra.load(model_dir(name))
    chosen = argument_texts(texts)[:8] + argument_texts(texts)[-2:]
    table = model.inspect(chosen)
    assert table.num_rows == len(chosen)
    assert any(table.column("truncated").to_pylist()), "some texts are longer than the model"
    for text, row in zip(chosen, table.to_pylist()):
        out = cli("inspect", "--model", model_dir(name), "--json", text)
        expected = json.loads(out.stdout)
        assert row["truncated"] == ("longer than the model" in out.stderr)
        assert len(row["tokens"]) == len(expected["tokens"])
        for got, want in zip(row["tokens"], expected["tokens"]):
            assert (got["token"], got["id"], got["start"], got["end"]) == (want["token"], want["id"], want["start"], want["end"])
            assert got["logit"] == f32(want["logit"]) and got["probability"] == f32(want["probability"])
            assert got["untrained_embedding"] == want.get("untrained_embedding", False)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_zeroshot_equals_the_cli(cli, model_dir, texts, name, multi_label):
    model = selectra.load(model_dir(name))
    chosen = argument_texts(texts)[:6] + argument_texts(texts)[-2:]
    table = model.zeroshot(chosen, LABELS, multi_label=multi_label)
    assert table.schema.field("scores").type == pa.list_(pa.float32())
    for text, row in zip(chosen, table.to_pylist()):
        args = ["zeroshot", "--model", model_dir(name), "--labels", ",".join(LABELS), "--json", text]
        expected = json.loads(cli(*args, *(["--multi-label"] if multi_label else [])).stdout)
        assert row["labels"] == expected["labels"]
        assert row["scores"] == [f32(s) for s in expected["scores"]]


def test_scan_and_embed_equal_the_cli_corpus_jobs(cli, model_dir, project, texts):
    name = model_dir("disc-vocab-bin")
    cli("scan", "--db", project, "--corpus", "c", "--model", name)
    cli("embed", "--db", project, "--corpus", "c", "--model", name)
    exported = cli("export", "--db", project, "--corpus", "c", "--format", "jsonl", "--embeddings", name).stdout
    rows = [json.loads(line) for line in exported.splitlines()]
    assert [r["text"] for r in rows] == texts
    model = selectra.load(name)
    scans = model.scan(texts).to_pylist()
    vectors = model.embed(pa.array(texts)).column("embedding").to_pylist()
    assert any(s["windows"] > 1 for s in scans), "the corpus has texts longer than the model"
    for row, scan, vector in zip(rows, scans, vectors):
        [stored] = row["scans"]
        assert scan["suspicion"] == f32(stored["suspicion"]) and scan["flagged"] == stored["flagged"]
        assert [(t["token"], t["start"], t["end"], t["probability"]) for t in scan["tokens"]] == [
            (t["token"], t["start"], t["end"], f32(t["probability"])) for t in stored["tokens"]
        ]
        assert vector == [f32(v) for v in row["embedding"]]


def test_arrow_and_list_inputs_agree(model_dir, texts):
    model = selectra.load(model_dir("nli-electra-entail0"))
    as_list = model.zeroshot(texts[:5], "deportes, política")
    as_arrow = model.zeroshot(pa.chunked_array([texts[:2], texts[2:5]]), ["deportes", "política"])
    assert as_list.equals(as_arrow)


def test_errors_are_python_exceptions_with_the_cores_message(model_dir, tmp_path):
    with pytest.raises(selectra.SelectraError, match="does not exist"):
        selectra.load(str(tmp_path / "missing"))
    nli = selectra.load(model_dir("nli-electra-entail0"))
    with pytest.raises(selectra.SelectraError, match="discriminator"):
        nli.scan(["El perro come carne."])
    with pytest.raises(selectra.SelectraError, match="no candidate labels"):
        nli.zeroshot(["El perro come carne."], [])
    with pytest.raises(selectra.SelectraError, match="empty"):
        nli.zeroshot(["   "], LABELS)
    with pytest.raises(TypeError, match="list of strings"):
        nli.embed("El perro come carne.")
    # What a corpus job's worker checks before its first batch.
    with pytest.raises(selectra.SelectraError, match="not a kind of corpus job"):
        nli.check_job("train")
    with pytest.raises(selectra.SelectraError, match="needs its labels"):
        nli.check_job("zeroshot")
    with pytest.raises(selectra.SelectraError, match="discriminator"):
        nli.check_job("scan")
    nli.check_job("zeroshot", LABELS)


def test_the_model_runs_without_the_gil(model_dir, texts):
    """With forced GIL switching off, the main thread can run during the worker's call only if
    the call released the GIL: then it counts while the model works; holding it, it would first
    run when the call is over and count nothing."""
    model = selectra.load(model_dir("nli-electra-entail0"))
    many = texts * 20
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        try:
            model.zeroshot(many, LABELS)
        finally:
            done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        started.wait()
        ticks = 0
        while not done.is_set():
            ticks += 1
            time.sleep(0)  # lets the worker take the GIL back when its call returns
        thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert ticks > 100, f"the main thread ran {ticks} times during the call"


def test_classify_and_tag_equal_the_cli_corpus_runs(cli, model_dir, project, texts):
    """A classifier's and a tagger's results equal the CLI's corpus runs over the same texts."""
    classifier, tagger = model_dir("cls-electra-sentiment"), model_dir("tag-electra-conll")
    cli("classify", "--db", project, "--corpus", "c", "--model", classifier)
    cli("tag", "--db", project, "--corpus", "c", "--model", tagger)
    rows = [json.loads(line) for line in cli("export", "--db", project, "--corpus", "c", "--format", "jsonl").stdout.splitlines()]
    labels = selectra.load(classifier).classify(texts).to_pylist()
    model = selectra.load(tagger)
    # A corpus run tags records whole, grouped "simple", with windows overlapping by a quarter.
    tagged = model.tag(texts, aggregation="simple", stride=model.max_length // 4)
    assert tagged.schema == selectra.TAG_SCHEMA
    long_records = 0
    for row, classified, entities in zip(rows, labels, tagged.to_pylist()):
        [stored] = row["predictions"]
        assert classified["labels"] == stored["labels"]
        assert classified["scores"] == [f32(s) for s in stored["scores"]]
        assert [(e["label"], e["start"], e["end"], e["score"]) for e in entities["entities"]] == [
            (e["label"], e["start"], e["end"], f32(e["score"])) for e in row["entities"]
        ]
        assert not entities["truncated"]
        long_records += len(row["text"]) > 400
    assert long_records >= 2, "the corpus has records longer than the tagger"
    # Without a stride, as the pipeline by default, long texts are cut and say so.
    assert any(model.tag(texts).column("truncated").to_pylist())


def test_a_pair_classifier_reads_each_second_text(model_dir):
    model = selectra.load(model_dir("cls-xlmr-pair"))
    alone = model.classify(["El perro come pan."]).to_pylist()[0]
    paired = model.classify(["El perro come pan.", "El perro come pan."], ["El perro está comiendo pan.", None]).to_pylist()
    assert paired[1] == alone and paired[0] != alone
    with pytest.raises(selectra.SelectraError, match="one second text"):
        model.classify(["a", "b"], ["c"])
