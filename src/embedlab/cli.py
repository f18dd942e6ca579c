"""The `embedlab` command: run, sweep, pretrain, report, predict, neighbours.

embedlab run task=sst2 embedding=glove6b embedding.mode=finetune      # one run (Hydra overrides)
embedlab sweep experiment=seed_question                                # a study, 2 jobs x 1 thread here
embedlab pretrain pretrain=word2vec                                    # vectors trained by embedlab, cached
embedlab report results/seed_question                                  # table + report of a folder of runs
embedlab predict RUN_DIR --text "a gorgeous, witty film"               # labels and probabilities
embedlab predict RUN_DIR --input new.csv --text-column text --out preds.csv
embedlab neighbours RUN_DIR good --space trained -k 10
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.errors import EmbedlabError
from embedlab.vectors.space import RUN_SPACES, TRAINED

SWEEP_DEFAULTS = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]


def sweep_arguments(args: Sequence[str]) -> list[str]:
    """`embedlab sweep ARGS` as a Hydra multirun: joblib here, 2 jobs x 1 thread, unless ARGS choose otherwise."""
    given = {a.lstrip("+").split("=", 1)[0] for a in args}
    defaults = [d for d in SWEEP_DEFAULTS if d.split("=", 1)[0] not in given]  # the user's choice wins
    if "hydra/launcher" in given:  # another launcher (ray_cluster, slurm): joblib's settings are not its own
        defaults = []
    return ["-m", *defaults, *args]


def predict_texts(run_dir: Path, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """A finished run's classifier on new texts: predicted class names and class probabilities."""
    from embedlab.run import CLASSIFIER_FILE, MODEL_FILE, VOCAB_FILE

    run_dir = Path(run_dir)
    if not (run_dir / MODEL_FILE).exists():
        raise EmbedlabError(
            f"{run_dir} has no {MODEL_FILE}: give the directory of a finished neural run made with save_model=true"
        )
    import keras

    import embedlab.training.models  # noqa: F401  (registers the custom layers the saved model uses)
    import embedlab.training.optimizers  # noqa: F401
    from embedlab.data.text import Tokenizer, Vocabulary
    from embedlab.training.train import predict

    spec = json.loads((run_dir / CLASSIFIER_FILE).read_text())
    words = (run_dir / VOCAB_FILE).read_text(encoding="utf-8").split("\n")[:-1]
    vocab = Vocabulary(tuple(words), tuple(spec["vocab_counts"]))
    tokenizer = Tokenizer(**spec["tokenizer"])
    model = keras.saving.load_model(run_dir / MODEL_FILE, compile=False)
    x = vocab.encode([tokenizer(t) for t in texts], spec["max_len"])
    probs = predict(model, x, spec["batch_size"], spec["min_len"])
    return [spec["classes"][i] for i in probs.argmax(1)], probs


def neighbours(run_dir: Path, word: str, space: str = TRAINED, k: int = 10) -> list[tuple[str, float]]:
    """The k nearest words of a word in a run's trained or initial embedding (cosine)."""
    from gensim.models import KeyedVectors

    path = Path(run_dir) / f"embedding_{space}.w2v.bin"
    if space not in RUN_SPACES:
        raise EmbedlabError(f"--space {space!r} is not a space of a run; use trained or initial")
    if not path.exists():
        raise EmbedlabError(f"{path} does not exist; give the directory of a finished run")
    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    if word not in kv.key_to_index:
        raise EmbedlabError(f"{word!r} is not in this run's vocabulary ({len(kv)} words)")
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=k)]


def _predict(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.input is None):
        raise EmbedlabError('give --text "..." (repeatable) or --input FILE --text-column NAME')
    if args.text is not None:
        texts = list(args.text)
    else:
        from embedlab.data.datasets import read_table

        frame = read_table(Path(args.input), args.format)
        if args.text_column not in frame.columns:
            raise EmbedlabError(f"{args.input}: no column {args.text_column!r}; columns are {list(frame.columns)}")
        texts = frame[args.text_column].astype(str).tolist()
    labels, probs = predict_texts(args.run_dir, texts)
    spec = json.loads((Path(args.run_dir) / "classifier.json").read_text())
    out = pd.DataFrame({"text": texts, "pred": probs.argmax(1), "label": labels})
    for i, name in enumerate(spec["classes"]):
        out[f"p_{name}"] = probs[:, i].round(6)
    if args.out:
        out.to_csv(args.out, index=False)
        print(f"{len(out)} predictions -> {args.out}")
    else:
        for record in out.to_dict("records"):
            shown = ", ".join(f"{name} {record[f'p_{name}']:.3f}" for name in spec["classes"])
            print(f"{record['label']}\t({shown})\t{record['text']}")
    return 0


def _neighbours(args: argparse.Namespace) -> int:
    for word, similarity in neighbours(args.run_dir, args.word, args.space, args.k):
        print(f"{similarity:.3f}\t{word}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("run", "sweep", "pretrain", "report", "predict", "neighbours")
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(__doc__.strip() + "\n\n`embedlab <command> --help` for each command.")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    command, rest = argv[0], argv[1:]
    if command in ("run", "sweep"):
        from embedlab.run import cli

        if rest[:1] in (["-h"], ["--help"]):
            print(
                f"embedlab {command} [Hydra overrides ...]: see `embedlab {command} --hydra-help`; "
                "groups and options are in the README"
            )
            return 0
        cli(rest if command == "run" else sweep_arguments(rest))
        return 0
    if command == "pretrain":
        from embedlab.core.config import export_locations
        from embedlab.vectors.pretrain import main as pretrain_main

        export_locations()
        sys.argv = [sys.argv[0], *rest]
        pretrain_main()
        return 0
    if command == "report":
        from embedlab.studies.report import main as report_main

        return report_main(rest)
    parser = argparse.ArgumentParser(prog=f"embedlab {command}")
    parser.add_argument("run_dir", type=Path, help="a finished run's directory")
    if command == "predict":
        parser.add_argument("--text", action="append", help="a text to classify (repeatable)")
        parser.add_argument("--input", help="a CSV/TSV/JSONL/Parquet file of texts")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--format", default=None, help="csv | tsv | jsonl | parquet (default: from the name)")
        parser.add_argument("--out", type=Path, help="write predictions here (CSV) instead of printing them")
        handler = _predict
    else:
        parser.add_argument("word")
        parser.add_argument("--space", default=TRAINED, help=" | ".join(RUN_SPACES))
        parser.add_argument("-k", type=int, default=10)
        handler = _neighbours
    args = parser.parse_args(rest)
    try:
        return handler(args)
    except EmbedlabError as exc:
        print(f"embedlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
