"""Corpus jobs on Ray Data: zero-shot, scans, embeddings, fine-tuned classifiers and taggers
over a corpus exported with ``selectra export --format parquet``, written as Parquet results
plus a manifest that ``selectra import-run`` brings back into the project as a run, scan or
embedding set.

>>> import ray, selectra.ray
>>> ray.init()
>>> selectra.ray.run("news.parquet", "out/", "Recognai/zeroshot_selectra_medium",
...                  labels=["deportes", "política", "economía"], concurrency=8, num_cpus=4)

``run`` is the whole job; :class:`Job` is the callable class it maps over the batches, for
pipelines that build their own dataset. Ray schedules, retries and restarts; a result row is a
pure function of its record, so a retried batch writes identical rows and the import keeps one.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Union

import pyarrow as pa
import pyarrow.fs as pafs

import selectra
from selectra import _labels, _native


class Job:
    """One actor's model, for ``Dataset.map_batches(Job, fn_constructor_kwargs=..., batch_format="pyarrow")``.

    A batch has the export's ``id`` and ``text`` columns (and ``text_pair`` in a pair corpus,
    which a classifier reads with the text); the result has one row per input row: ``id``,
    ``text_sha256`` (of the text it was computed on) and the kind's columns
    (``selectra.ZEROSHOT_SCHEMA``, ``selectra.SCAN_SCHEMA``, ``embedding``,
    ``selectra.CLASSIFY_SCHEMA`` or ``selectra.TAG_SCHEMA``). A tagging job tags whole records
    with ``aggregation`` and ``stride`` (unset: "simple", a quarter of the model's length). The
    model uses ``threads`` cores (default: the CPUs Ray assigned to this actor).
    """

    def __init__(
        self,
        model: str,
        kind: str = "zeroshot",
        labels: Optional[Union[str, Iterable[str]]] = None,
        template: Optional[str] = None,
        multi_label: bool = False,
        strip_accents: Optional[bool] = None,
        threads: Optional[int] = None,
        aggregation: Optional[str] = None,
        stride: Optional[int] = None,
    ):
        threads = threads or _assigned_cpus()
        if threads:
            # Read once, when the core's thread pool starts (on the first model call).
            os.environ["RAYON_NUM_THREADS"] = str(threads)
        self.kind = kind
        self.labels = _labels(labels)
        self.template = template
        self.multi_label = multi_label
        self.aggregation = aggregation
        self.stride = stride
        self.model = selectra.load(model, strip_accents)
        self.model.check_job(kind, self.labels, template, multi_label, aggregation, stride)

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids = batch.column("id").cast(pa.string())
        texts = batch.column("text").to_pylist()
        if self.kind == "zeroshot":
            results = self.model.zeroshot(texts, self.labels, self.template, self.multi_label)
        elif self.kind == "scan":
            results = self.model.scan(texts)
        elif self.kind == "classify":
            pairs = batch.column("text_pair").to_pylist() if "text_pair" in batch.column_names else None
            results = self.model.classify(texts, pairs)
        elif self.kind == "tag":
            # A corpus job's defaults for what is unset: records tagged whole, entities grouped.
            results = selectra._tag_table(self.model._native.tag(texts, self.aggregation, self.stride, True))
        else:
            results = self.model.embed(texts)
        head = pa.table({"id": ids, "text_sha256": pa.array([selectra.text_sha256(t) for t in texts], pa.string())})
        for name in results.column_names:
            head = head.append_column(results.schema.field(name), results.column(name))
        return head


def _assigned_cpus() -> Optional[int]:
    try:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # outside a Ray worker
        return None
    return max(1, int(cpus)) if cpus else None


def run(
    input: str,
    output: str,
    model: str,
    kind: str = "zeroshot",
    labels: Optional[Union[str, Iterable[str]]] = None,
    template: Optional[str] = None,
    multi_label: bool = False,
    strip_accents: Optional[bool] = None,
    concurrency: int = 1,
    num_cpus: float = 1,
    batch_size: int = 256,
    job: type = None,
    aggregation: Optional[str] = None,
    stride: Optional[int] = None,
) -> dict:
    """Runs a corpus job on the connected Ray cluster (``ray.init()`` first).

    ``input`` is Parquet written by ``selectra export --format parquet`` (a file, folder or URI
    every worker can read); ``output`` is a fresh directory (or URI) that receives
    ``results/*.parquet`` and, last, ``manifest.json``, so a directory with a manifest holds a
    finished job. ``concurrency`` actors each load the model once and use ``num_cpus`` cores.
    ``job`` is the class mapped over the batches: :class:`Job`, or a subclass of it (to log, or
    to add columns). Returns the manifest.
    """
    import json

    import ray
    import ray.data

    fs, root = pafs.FileSystem.from_uri(_absolute(output))
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File or (
        info.type == pafs.FileType.Directory and fs.get_file_info(pafs.FileSelector(root)) != []
    ):
        raise ValueError(f"{output} is not an empty directory; a job writes its results to a fresh one")
    # Actors holding every CPU leave none for the tasks that read and write Parquet, and Ray
    # Data then waits for ever; say so instead.
    cpus = ray.cluster_resources().get("CPU", 0) if ray.is_initialized() else 0
    if cpus and concurrency * num_cpus >= cpus:
        raise ValueError(
            f"{concurrency} actors of {num_cpus:g} CPUs take all {cpus:g} CPUs of the cluster and leave none "
            "for reading and writing Parquet; use fewer actors or fewer CPUs per actor"
        )
    labels = _labels(labels)
    # Checked here first so that a wrong model, kind, labels or template fail before the cluster
    # starts.
    checked = selectra.load(model, strip_accents)
    checked.check_job(kind, labels, template, multi_label, aggregation, stride)
    dataset = ray.data.read_parquet(input)
    # A pair corpus's export has text_pair: a classifier reads the pairs it was trained on.
    columns = ["id", "text"] + (["text_pair"] if kind == "classify" and "text_pair" in dataset.schema().names else [])
    dataset = dataset.select_columns(columns)
    rows = dataset.count()
    manifest = checked.manifest(kind, rows, labels, template, multi_label, aggregation, stride)
    del checked
    results = dataset.map_batches(
        job or Job,
        fn_constructor_kwargs=dict(
            model=model,
            kind=kind,
            labels=labels,
            template=template,
            multi_label=multi_label,
            strip_accents=strip_accents,
            threads=max(1, int(num_cpus)),
            aggregation=aggregation,
            stride=stride,
        ),
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
    )
    results.write_parquet(f"{_absolute(output).rstrip('/')}/{_native.RESULTS_DIR}")
    fs.create_dir(root, recursive=True)
    temporary = f"{root}/{_native.MANIFEST_FILE}.partial"
    with fs.open_output_stream(temporary) as out:
        out.write(manifest.encode("utf-8"))
    fs.move(temporary, f"{root}/{_native.MANIFEST_FILE}")
    return json.loads(manifest)


def _absolute(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)
