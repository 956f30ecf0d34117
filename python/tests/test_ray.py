"""Corpus jobs on Ray (local mode, loopback only) come back through `selectra import-run` as
exactly the run, scan or embedding set the CLI computes: the exports are byte for byte equal."""

import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray")

import selectra.ray as selectra_ray  # noqa: E402

LABELS = "deportes,política,economía"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # Logical CPUs (the machine has two cores): two actors of one CPU each, and CPUs left for
    # the tasks that read and write Parquet.
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=200 * 1024 * 1024,
        log_to_driver=False,
        configure_logging=False,
    )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    yield
    ray.shutdown()


def export(cli, db, *extra):
    return cli("export", "--db", db, "--corpus", "c", "--format", "jsonl", *extra).stdout


def twin(project, tmp_path, cli):
    """A second project with the same corpus, for the CLI's own computation."""
    other = tmp_path / "twin"
    other.mkdir()
    db = other / "project.sqlite"
    source = Path(project).parent / "c.jsonl"
    cli("corpus", "import", "--db", db, "--name", "c", "--id-column", "id", source)
    return db


def import_run(cli, db, out):
    return json.loads(cli("import-run", "--db", db, "--corpus", "c", "--from", out, "--json").stdout)


def test_a_zeroshot_job_killed_once_is_retried_and_imports_as_the_clis_run(cli, model_dir, project, tmp_path):
    model = model_dir("nli-electra-entail0")
    parquet = tmp_path / "c.parquet"
    cli("export", "--db", project, "--corpus", "c", "--format", "parquet", "--output", parquet)
    marker = tmp_path / "killed-once"

    class DiesOnce(selectra_ray.Job):
        """Kills its worker process on the first batch any actor sees."""

        def __call__(self, batch):
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return super().__call__(batch)
            os.close(fd)
            os._exit(1)

    out = tmp_path / "job"
    manifest = selectra_ray.run(
        str(parquet), str(out), model, labels=LABELS, concurrency=2, num_cpus=1, batch_size=4, job=DiesOnce
    )
    assert marker.exists(), "a worker was killed"
    assert manifest["kind"] == "zeroshot" and manifest["input_rows"] > 8
    first = import_run(cli, project, out)
    assert first["complete"] and first["imported"] == first["records"] == manifest["input_rows"]

    reference = twin(project, tmp_path, cli)
    cli("run", "--db", reference, "--corpus", "c", "--model", model, "--labels", LABELS)
    assert export(cli, project) == export(cli, reference)

    again = import_run(cli, project, out)
    assert again["imported"] == 0 and again["already_present"] == first["records"]
    assert export(cli, project) == export(cli, reference)


@pytest.mark.parametrize("kind", ["scan", "embed"])
def test_scan_and_embed_jobs_import_as_the_clis(cli, model_dir, project, tmp_path, kind):
    model = model_dir("disc-vocab-bin")
    parquet = tmp_path / "c.parquet"
    cli("export", "--db", project, "--corpus", "c", "--format", "parquet", "--output", parquet)
    out = tmp_path / "job"
    selectra_ray.run(str(parquet), str(out), model, kind=kind, concurrency=2, batch_size=5)
    # Engine retries can write a batch twice: a copy of a result file is absorbed.
    results = sorted((out / "results").glob("*.parquet"))
    shutil.copy(results[0], out / "results" / ("copy-" + results[0].name))
    summary = import_run(cli, project, out)
    assert summary["complete"] and summary["already_present"] > 0

    reference = twin(project, tmp_path, cli)
    cli(kind, "--db", reference, "--corpus", "c", "--model", model)
    extra = ("--embeddings", model) if kind == "embed" else ()
    assert export(cli, project, *extra) == export(cli, reference, *extra)


def test_a_job_that_would_hold_every_cpu_is_refused(model_dir, tmp_path):
    with pytest.raises(ValueError, match="leave none for reading and writing"):
        selectra_ray.run(str(tmp_path / "in.parquet"), str(tmp_path / "job"), model_dir("disc-vocab-bin"), kind="scan", concurrency=4)


def test_a_job_refuses_a_directory_that_is_not_empty(model_dir, tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "old.txt").write_text("earlier results")
    with pytest.raises(ValueError, match="not an empty directory"):
        selectra_ray.run(str(tmp_path / "in.parquet"), str(tmp_path / "job"), model_dir("disc-vocab-bin"), kind="scan")


@pytest.mark.parametrize(("kind", "name", "extra"), [("classify", "cls-electra-sentiment", ()), ("tag", "tag-xlmr-conll", ("--aggregation", "first"))])
def test_classifier_and_tagger_jobs_import_as_the_clis(cli, model_dir, project, tmp_path, kind, name, extra):
    model = model_dir(name)
    parquet = tmp_path / "c.parquet"
    cli("export", "--db", project, "--corpus", "c", "--format", "parquet", "--output", parquet)
    out = tmp_path / "job"
    options = {"aggregation": "first"} if kind == "tag" else {}
    manifest = selectra_ray.run(str(parquet), str(out), model, kind=kind, concurrency=2, batch_size=5, **options)
    assert manifest["kind"] == kind
    summary = import_run(cli, project, out)
    assert summary["complete"] and summary["imported"] == summary["records"]

    reference = twin(project, tmp_path, cli)
    cli(kind, "--db", reference, "--corpus", "c", "--model", model, *extra)
    assert export(cli, project) == export(cli, reference)
