"""Fine-tuning speed of Selectra Studio against the transformers Trainer, side by side.

    .venv/bin/python bench/finetune.py [--size small] [--texts 640] [--tokens 40] [--threads 2] [--rounds 2]

A random discriminator of SELECTRA's shape (bench/speed.py's `make_models`) is fine-tuned into a
three-label classifier on the same texts (each exactly `--tokens` tokens with [CLS] and [SEP],
words that are one token each in the bench vocabulary) and labels, one epoch, batch 16, the
Trainer's defaults otherwise (learning rate 5e-5, AdamW, linear schedule, gradient clipping at
1.0, dropout as the config says), with the same thread count on both sides, each in its own
process (peak RSS by GNU time), the two sides alternating for `--rounds` rounds and each
side's best round reported (a shared machine's neighbours move single runs by a fifth). Ours: `selectra finetune --validation-share 0` from a release
build (`cargo build --release`); PyTorch: `Trainer.train()` after the same tokenization. Prints a
Markdown table with the CPU, examples per second and peak memory, and what 3 epochs over 5,000
such sentences would take at each rate.
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["deportes", "economía", "política"]


def texts(n, tokens):
    rng = random.Random(11)
    rows = []
    for i in range(n):
        rows.append((" ".join(rng.choice(speed.WORDS) for _ in range(tokens - 2)), LABELS[i % 3]))
    return rows


def child(args):
    """The PyTorch side, in its own process: prints its measurements as JSON."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    torch.set_num_threads(args["threads"])
    rows = json.loads(Path(args["data"]).read_text())
    tokenizer = AutoTokenizer.from_pretrained(args["model"])
    id2label = dict(enumerate(LABELS))
    model = AutoModelForSequenceClassification.from_pretrained(args["model"], num_labels=3, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    encoded = tokenizer([t for t, _ in rows], truncation=True)
    dataset = [{"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i], "token_type_ids": encoded["token_type_ids"][i], "labels": LABELS.index(l)} for i, (_, l) in enumerate(rows)]
    training = TrainingArguments(
        output_dir=args["out"], per_device_train_batch_size=16, num_train_epochs=1, learning_rate=5e-5, save_strategy="no",
        report_to=[], use_cpu=True, logging_strategy="no", dataloader_num_workers=0, seed=42, disable_tqdm=True,
    )
    from transformers import DataCollatorWithPadding

    trainer = Trainer(model=model, args=training, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer))
    t = time.perf_counter()
    result = trainer.train()
    secs = time.perf_counter() - t
    print(json.dumps({"secs": secs, "examples_per_sec": len(rows) / secs, "trainer_samples_per_second": result.metrics.get("train_samples_per_second")}))


def timed(cmd, env_extra):
    env = dict(os.environ, **env_extra)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + [str(c) for c in cmd], capture_output=True, env=env)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"{cmd[:3]} failed: {proc.stderr.decode()[-2000:]}")
        return proc.stdout.decode(), wall, int(Path(rss.name).read_text().split()[-1]) / 1024


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(json.loads(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="small")
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--tokens", type=int, default=40)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--selectra", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "selectra"))
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "selectra-finetune-bench"))
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    disc, _ = speed.make_models(work, a.size)
    rows = texts(a.texts, a.tokens)
    data = work / "rows.json"
    data.write_text(json.dumps(rows, ensure_ascii=False))
    csv = work / "rows.csv"
    csv.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in rows), encoding="utf-8")

    db = work / "bench.db"
    for p in [db, Path(f"{db}-wal"), Path(f"{db}-shm")]:
        p.unlink(missing_ok=True)
    subprocess.run([a.selectra, "corpus", "import", "--db", db, "--name", "b", "--label-column", "label", csv], check=True, capture_output=True)
    out_dir = work / "ours"
    threads = {"RAYON_NUM_THREADS": str(a.threads)}
    args = {"threads": a.threads, "data": str(data), "model": str(disc), "out": str(work / "torch")}
    ours_runs, theirs_runs = [], []
    for _ in range(a.rounds):
        # Ours.
        subprocess.run(["rm", "-rf", out_dir], check=True)
        stdout, wall, rss = timed(
            [a.selectra, "finetune", "--db", db, "--corpus", "b", "--model", disc, "--output", out_dir, "--epochs", "1", "--batch-size", "16", "--validation-share", "0", "--json"],
            threads,
        )
        ours_runs.append((json.loads(stdout), wall, rss))
        # PyTorch.
        stdout, torch_wall, torch_rss = timed([sys.executable, __file__, "--child", json.dumps(args)], {"OMP_NUM_THREADS": str(a.threads)})
        theirs_runs.append((json.loads(stdout.strip().splitlines()[-1]), torch_wall, torch_rss))
    ours, wall, rss = max(ours_runs, key=lambda r: r[0]["examples_per_sec"])
    theirs, torch_wall, torch_rss = max(theirs_runs, key=lambda r: r[0]["examples_per_sec"])
    rounds = lambda runs: ", ".join(f"{r[0]['examples_per_sec']:.1f}" for r in runs)

    cost = lambda rate: 3 * 5000 / rate / 60  # minutes for 3 epochs over 5,000 sentences
    print(f"Fine-tuning, SELECTRA-{a.size}-shaped random discriminator into a 3-label classifier: {a.texts} texts of {a.tokens} tokens, "
          f"1 epoch, batch 16, {a.threads} threads, on {cpu_model()} ({os.cpu_count()} cores), best of {a.rounds} alternating rounds.\n")
    print("| | examples/s (training loop) | process wall time | peak RSS | 3 epochs × 5,000 sentences |\n|---|---|---|---|---|")
    print(f"| Selectra Studio (`selectra finetune`) | {ours['examples_per_sec']:.1f} | {wall:.1f} s | {rss:.0f} MiB | {cost(ours['examples_per_sec']):.0f} min |")
    print(f"| transformers Trainer ({theirs['trainer_samples_per_second']:.1f} by its own count) | {theirs['examples_per_sec']:.1f} | {torch_wall:.1f} s | {torch_rss:.0f} MiB | {cost(theirs['examples_per_sec']):.0f} min |")
    print(f"\nratio (ours / PyTorch): {ours['examples_per_sec'] / theirs['examples_per_sec']:.2f}x; peak memory {rss / torch_rss:.2f}x")
    print(f"rounds (examples/s): ours {rounds(ours_runs)}; Trainer {rounds(theirs_runs)}")


if __name__ == "__main__":
    main()
