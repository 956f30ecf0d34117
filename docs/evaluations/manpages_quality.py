"""The data-quality tools on real Spanish text nobody here wrote: Debian's manual pages
(`apt-get install manpages-es`), one record per paragraph, labeled with the manual section's
subject (8 kinds), 5% of the labels flipped to another kind on purpose (seeded, so the flips
are known). Runs the CLI end to end and prints what a person needs to judge it:

    python3 docs/evaluations/manpages_quality.py SELECTRA_BINARY EMBEDDING_MODEL OUT_DIR

1. exact duplicate groups (`selectra duplicates`), and a seeded sample of 20 groups;
2. a classifier trained on the labels over EMBEDDING_MODEL's embeddings (`selectra train`:
   out-of-fold scores), likely label errors on it (`selectra issues`), their precision and
   recall against the planted flips, and a seeded sample of 20 flagged records;
3. near-duplicate groups by cosine over the same embeddings, and a sample of 20 groups;
4. the latency of "more like this" (`selectra similar`, the whole command).
Nothing here is tuned: the defaults of the core are used throughout.
"""

import csv
import gzip
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

SECTIONS = {"1": "órdenes", "2": "llamadas", "3": "bibliotecas", "4": "dispositivos", "5": "formatos",
            "6": "juegos", "7": "miscelánea", "8": "administración"}


def paragraphs(roff):
    """Text paragraphs of a roff page: runs of text lines between paragraph and section macros,
    with font and glyph escapes removed."""
    out, current = [], []
    for line in roff.splitlines():
        if line.startswith((".", "'")):
            if re.match(r"^[.'](PP|P|LP|SH|SS|TP|IP|HP|sp|br|RS|RE|nf|fi)\b", line) and current:
                out.append(" ".join(current))
                current = []
            continue
        if line.startswith('\\"'):
            continue
        current.append(line)
    if current:
        out.append(" ".join(current))
    clean = []
    for p in out:
        p = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", p)
        p = re.sub(r"\\\((..)", " ", p)
        p = p.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
        p = re.sub(r"\\.", "", p)
        p = " ".join(p.split())
        if 40 <= len(p) <= 1500:
            clean.append(p)
    return clean


def run(args):
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr}")
    return out.stdout


def main():
    binary, model, out_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(29)
    rows = []
    for number, subject in SECTIONS.items():
        for page in sorted(Path(f"/usr/share/man/es/man{number}").glob("*.gz")):
            for p in paragraphs(gzip.open(page, "rt", errors="replace").read()):
                rows.append({"text": p, "label": subject, "page": page.name.split(".")[0], "true": subject})
    for r in rows:
        if rng.random() < 0.05:
            r["label"] = rng.choice([s for s in SECTIONS.values() if s != r["true"]])
    flipped = {i + 1 for i, r in enumerate(rows) if r["label"] != r["true"]}
    path = out_dir / "manuales.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label", "page", "true"])
        w.writeheader()
        w.writerows(rows)
    db = out_dir / "manuales.db"
    db.unlink(missing_ok=True)
    run([binary, "corpus", "import", "--db", str(db), "--name", "man", "--label-column", "label", "--metadata-columns", "page,true", str(path)])
    print(f"{len(rows)} paragraphs from {len(SECTIONS)} sections, {len(flipped)} labels flipped on purpose")

    exact = json.loads(run([binary, "duplicates", "--db", str(db), "--corpus", "man", "--json"]))["duplicates"]
    groups = exact["groups"]
    print(f"\n1. exact duplicate groups: {len(groups)} groups, {sum(len(g['records']) for g in groups)} records")
    for g in rng.sample(groups, min(20, len(groups))):
        print("  -", " | ".join(f"row {m['row']}: {m['text'][:70]!r}" for m in g["records"][:3]), f"({len(g['records'])} records)")

    started = time.time()
    trained = json.loads(run([binary, "train", "--db", str(db), "--corpus", "man", "--model", model, "--json"]))
    train_run = trained["run"]["id"] if isinstance(trained["run"], dict) else trained["run"]
    print(f"\n2. classifier over {model}'s embeddings: run {train_run}, {time.time() - started:.0f} s "
          f"(cross-validated accuracy {trained.get('cv_accuracy', float('nan')):.3f})")
    found = json.loads(run([binary, "issues", "--db", str(db), "--corpus", "man", "--run", str(train_run), "--json"]))
    flagged = [i["row"] for i in found["issues"]]
    hits = len(set(flagged) & flipped)
    print(f"  likely label errors: {len(flagged)} of {found['records']}; {hits} are planted flips "
          f"(precision {hits / max(1, len(flagged)):.3f}, recall {hits / max(1, len(flipped)):.3f})")
    by_row = {i + 1: r for i, r in enumerate(rows)}
    for i in rng.sample(found["issues"], min(20, len(found["issues"]))):
        r = by_row[i["row"]]
        print(f"  - row {i['row']} given {i['given']} (true section: {r['true']}), suggested {i['suggested']}, "
              f"quality {i['quality']:.3f}{' [planted]' if i['row'] in flipped else ''}: {r['text'][:90]!r}")

    embedded = json.loads(run([binary, "embed", "--db", str(db), "--corpus", "man", "--model", model, "--json"]))
    set_id = str(embedded["embeddings"]["id"])
    near = json.loads(run([binary, "duplicates", "--db", str(db), "--corpus", "man", "--embeddings", set_id, "--json"]))["duplicates"]
    only_near = [g for g in near["groups"] if not g["exact"]]
    print(f"\n3. with near-duplicates (cosine >= {near['threshold']}): {len(near['groups'])} groups, "
          f"{len(only_near)} of them not exact, {sum(len(g['records']) for g in near['groups'])} records")
    for g in rng.sample(only_near, min(20, len(only_near))):
        print(f"  - cos >= {g['least_similarity']:.3f}:", " | ".join(f"row {m['row']}: {m['text'][:60]!r}" for m in g["records"][:3]),
              f"({len(g['records'])} records)")

    times = []
    for row in rng.sample(range(1, len(rows) + 1), 5):
        started = time.time()
        run([binary, "similar", "--db", str(db), "--corpus", "man", "--embeddings", set_id, "--row", str(row), "--json"])
        times.append(time.time() - started)
    print(f"\n4. selectra similar --row (the whole command: open, load {len(rows)} vectors, search): "
          f"median {sorted(times)[2] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
