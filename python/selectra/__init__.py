"""SELECTRA (Spanish ELECTRA) models from Python, over the same core as the Selectra Studio app
and the ``selectra`` command line: the same model specs and Hugging Face cache, the same numbers.

>>> import selectra
>>> model = selectra.load("Recognai/zeroshot_selectra_medium")
>>> model.zeroshot(["El Madrid gana la liga"], ["deportes", "política"]).to_pylist()

Every method takes a list of texts (or a pyarrow string array or chunked array) and returns a
pyarrow Table with one row per text, in input order. Scores and vectors are float32, exactly as
the core computes them. The model runs with the GIL released; errors are ``SelectraError`` with
the core's message. Corpus jobs on Ray are in ``selectra.ray``.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence, Union

import pyarrow as pa

from . import _native
from ._native import DEFAULT_TEMPLATE, SelectraError, text_sha256

__all__ = ["load", "Model", "SelectraError", "DEFAULT_TEMPLATE", "text_sha256", "__version__"]

#: "0.1.0 (commit)": the core's version, as ``selectra --version`` prints it.
__version__ = _native.VERSION.split(" ")[0]

Texts = Union[Sequence[str], pa.Array, pa.ChunkedArray]

INSPECT_TOKEN = pa.struct(
    [
        ("token", pa.string()),
        ("id", pa.uint32()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("logit", pa.float32()),
        ("probability", pa.float32()),
        ("untrained_embedding", pa.bool_()),
    ]
)
SCAN_TOKEN = pa.struct(
    [
        ("token", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("probability", pa.float32()),
        ("word_start", pa.bool_()),
    ]
)
#: Result columns of each kind of corpus job (after ``id`` and ``text_sha256``).
ZEROSHOT_SCHEMA = pa.schema([("labels", pa.list_(pa.string())), ("scores", pa.list_(pa.float32()))])
TAG_ENTITY = pa.struct(
    [
        ("label", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("score", pa.float32()),
        ("word", pa.string()),
    ]
)
#: A classifier's columns are zero-shot's: every label of the model, highest score first.
CLASSIFY_SCHEMA = ZEROSHOT_SCHEMA
TAG_SCHEMA = pa.schema([("entities", pa.list_(TAG_ENTITY)), ("truncated", pa.bool_())])
SCAN_SCHEMA = pa.schema(
    [
        ("suspicion", pa.float32()),
        ("flagged", pa.int64()),
        ("mean", pa.float32()),
        ("windows", pa.int64()),
        ("tokens", pa.list_(SCAN_TOKEN)),
    ]
)


def _labels(labels):
    """Labels as the native module takes them: a comma-separated string, or a list (any other
    iterable is read once, here)."""
    return labels if labels is None or isinstance(labels, str) else list(labels)


def _texts(texts: Texts) -> list:
    if isinstance(texts, str):
        raise TypeError("texts is a list of strings; wrap a single text in a list")
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        texts = texts.to_pylist()
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {i} is {type(t).__name__}, not a string")
    return texts


class Model:
    """A loaded model; see :func:`load`."""

    def __init__(self, native: "_native.Model"):
        self._native = native

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def architecture(self) -> str:
        return self._native.architecture

    @property
    def max_length(self) -> int:
        return self._native.max_length

    def __repr__(self) -> str:
        return repr(self._native)

    def inspect(self, texts: Texts) -> pa.Table:
        """The discriminator's per-token logits and P(replaced) of each text (texts longer than
        the model are cut; ``truncated`` says so)."""
        rows = self._native.inspect(_texts(texts))
        tokens = [[dict(zip(INSPECT_TOKEN.names, t)) for t in toks] for _, toks in rows]
        return pa.table(
            {
                "truncated": pa.array([t for t, _ in rows], pa.bool_()),
                "tokens": pa.array(tokens, pa.list_(INSPECT_TOKEN)),
            }
        )

    def zeroshot(
        self,
        texts: Texts,
        labels: Union[str, Iterable[str]],
        template: Optional[str] = None,
        multi_label: bool = False,
    ) -> pa.Table:
        """Zero-shot classification with the transformers pipeline's semantics: each text's
        labels sorted by score. ``labels`` is a list or a comma-separated string; ``template``
        defaults to :data:`DEFAULT_TEMPLATE`."""
        rows = self._native.zeroshot(_texts(texts), _labels(labels), template, multi_label)
        return pa.table(
            {"labels": pa.array([r[0] for r in rows], ZEROSHOT_SCHEMA.field("labels").type),
             "scores": pa.array([r[1] for r in rows], ZEROSHOT_SCHEMA.field("scores").type)}
        )

    def scan(self, texts: Texts) -> pa.Table:
        """Every token's P(replaced) over whole texts (long ones in overlapping windows), with
        each record's suspicion (highest word score), flagged word count and mean."""
        rows = self._native.scan(_texts(texts))
        return pa.table(
            {
                "suspicion": pa.array([r[0] for r in rows], pa.float32()),
                "flagged": pa.array([r[1] for r in rows], pa.int64()),
                "mean": pa.array([r[2] for r in rows], pa.float32()),
                "windows": pa.array([r[3] for r in rows], pa.int64()),
                "tokens": pa.array([[dict(zip(SCAN_TOKEN.names, t)) for t in r[4]] for r in rows], pa.list_(SCAN_TOKEN)),
            },
            schema=SCAN_SCHEMA,
        )

    def classify(self, texts: Texts, pairs: Optional[Sequence[Optional[str]]] = None) -> pa.Table:
        """A fine-tuned classifier's scores of its own labels, as the transformers
        text-classification pipeline with ``top_k=None``: each text's labels, highest score
        first. ``pairs`` gives a pair model (paraphrase, NLI) each text's second text (None for
        none)."""
        pairs = None if pairs is None else [None if p is None else str(p) for p in (pairs.to_pylist() if isinstance(pairs, (pa.Array, pa.ChunkedArray)) else pairs)]
        rows = self._native.classify(_texts(texts), pairs)
        return pa.table(
            {"labels": pa.array([r[0] for r in rows], CLASSIFY_SCHEMA.field("labels").type),
             "scores": pa.array([r[1] for r in rows], CLASSIFY_SCHEMA.field("scores").type)}
        )

    def tag(self, texts: Texts, aggregation: Optional[str] = None, stride: Optional[int] = None) -> pa.Table:
        """A token classifier's entities in each text, as the transformers token-classification
        pipeline finds them with ``aggregation_strategy`` (default "none": every token not
        labeled O) and ``stride`` (whole texts in overlapping windows; default: texts cut at the
        model's length, and ``truncated`` says so). Each entity: label (the entity group, or
        the token's label without aggregation), start, end (characters), score, word."""
        rows = self._native.tag(_texts(texts), aggregation, stride, False)
        return _tag_table(rows)

    def embed(self, texts: Texts) -> pa.Table:
        """Unit-length, mean-pooled embeddings of each text (texts cut at the model's length)."""
        vectors = self._native.embed(_texts(texts))
        return pa.table({"embedding": pa.array(vectors, pa.list_(pa.float32()))})

    def check_job(self, kind: str, labels=None, template=None, multi_label=False, aggregation=None, stride=None) -> None:
        """Raises ``SelectraError`` unless this model can run a corpus job of ``kind``
        ("zeroshot", "scan", "embed", "classify" or "tag") with these labels and template, or
        tagging options (see ``selectra.ray``)."""
        self._native.check_job(kind, _labels(labels), template, multi_label, aggregation, stride)

    def manifest(self, kind: str, input_rows: int, labels=None, template=None, multi_label=False, aggregation=None, stride=None) -> str:
        """The JSON manifest of a corpus job (see ``selectra.ray``)."""
        return self._native.manifest(kind, input_rows, _labels(labels), template, multi_label, aggregation, stride)


def _tag_table(rows) -> pa.Table:
    entities = [[dict(zip(TAG_ENTITY.names, e)) for e in r[0]] for r in rows]
    return pa.table(
        {"entities": pa.array(entities, pa.list_(TAG_ENTITY)), "truncated": pa.array([r[1] for r in rows], pa.bool_())},
        schema=TAG_SCHEMA,
    )


def load(spec: str, strip_accents: Optional[bool] = None) -> Model:
    """Loads a model: a Hub id (``ORG/NAME``, optionally ``@revision``) or a local folder. Hub
    files come from the Hugging Face cache (``HF_HOME``, ``HF_HUB_OFFLINE`` and ``HF_TOKEN``
    apply) and are downloaded when missing, with progress lines on stderr. ``strip_accents`` overrides the tokenizer's accent
    setting (None keeps the model files' own, which is right for the pre-trained SELECTRA)."""
    return Model(_native.load(spec, strip_accents))
