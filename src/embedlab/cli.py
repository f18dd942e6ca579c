"""The `embedlab` command: run, sweep, pretrain, report, predict, neighbours.

embedlab run task=sst2 embedding=glove6b embedding.mode=finetune      # one run (Hydra overrides)
embedlab sweep experiment=seed_question                                # a study, 2 jobs x 1 thread here
embedlab pretrain pretrain=word2vec                                    # vectors trained by embedlab, cached
embedlab report results/seed_question                                  # table + report of a folder of runs
embedlab predict RUN_DIR --text "a gorgeous, witty film"               # labels and probabilities
embedlab predict RUN_DIR --input new.csv --text-column text --out preds.csv
embedlab neighbours RUN_DIR good --space trained -k 10
embedlab results FOLDER                                                # the results table alone (no report)
embedlab projection out.png RUN_DIR ...                                # sentence projections of runs side by side

`embedlab` is the one entry point; `python -m embedlab.run ...` is the same as `embedlab run ...` (the tests use it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.errors import EmbedlabError, print_error
from embedlab.vectors.space import RUN_SPACES, TRAINED

SWEEP_DEFAULTS = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]


def sweep_arguments(args: Sequence[str]) -> list[str]:
    """`embedlab sweep ARGS` as a Hydra multirun: joblib here, 2 jobs x 1 thread, unless ARGS choose otherwise."""
    given = {a.lstrip("+").split("=", 1)[0] for a in args}
    defaults = [d for d in SWEEP_DEFAULTS if d.split("=", 1)[0] not in given]  # the user's choice wins
    if "hydra/launcher" in given:  # another launcher (ray_cluster, slurm): joblib's settings are not its own
        defaults = []
    return ["-m", *defaults, *args]


CLASSIFIER_KEYS = {"classes": list, "tokenizer": dict, "max_len": int, "min_len": int, "batch_size": int}


def finished_run(run_dir: Path) -> Path:
    """A run directory whose record says it completed; anything else is one line saying what it is."""
    from embedlab.core.rundir import STATUS_FILE

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EmbedlabError(f"{run_dir} is not a folder; give the directory of a finished run")
    try:
        record = json.loads((run_dir / STATUS_FILE).read_text())
        status = record.get("status") if isinstance(record, dict) else "unreadable"
    except (OSError, UnicodeError, json.JSONDecodeError):
        status = "unreadable" if (run_dir / STATUS_FILE).exists() else "missing"
    if status == "missing":
        raise EmbedlabError(
            f"{run_dir} is not a run directory (no {STATUS_FILE}); give the directory of a finished run"
        )
    if status != "completed":
        raise EmbedlabError(
            f"{run_dir}: its {STATUS_FILE} says {status!r}, not 'completed'; give the directory of a finished run "
            "(an unfinished or failed run's files are partial)"
        )
    return run_dir


def read_classifier(run_dir: Path) -> tuple[dict, list[str]]:
    """classifier.json and vocab.txt, checked against each other (a changed file would predict silently wrong)."""
    from embedlab.run import CLASSIFIER_FILE, VOCAB_FILE

    spec_path, vocab_path = run_dir / CLASSIFIER_FILE, run_dir / VOCAB_FILE
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmbedlabError(f"{spec_path} is missing; the run was made without save_model=true") from None
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise EmbedlabError(f"{spec_path} is not valid JSON ({exc}); rerun the run to write it again") from None
    spec = spec if isinstance(spec, dict) else {}
    wrong = [key for key, kind in CLASSIFIER_KEYS.items() if not isinstance(spec.get(key), kind)]
    counts = spec.get("vocab_counts")
    if wrong or not isinstance(counts, list) or not spec["classes"]:
        missing = ", ".join(wrong or ["vocab_counts"])
        raise EmbedlabError(
            f"{spec_path} lacks or mistypes {missing}: written by another embedlab version or edited; "
            "rerun the run with this version"
        )
    try:
        words = vocab_path.read_text(encoding="utf-8").split("\n")[:-1]
    except FileNotFoundError:
        raise EmbedlabError(f"{vocab_path} is missing; the run was made without save_model=true") from None
    except UnicodeError:
        raise EmbedlabError(f"{vocab_path} is not UTF-8 text; the run directory was changed, rerun it") from None
    if len(words) != len(counts):
        raise EmbedlabError(
            f"{vocab_path} has {len(words)} words but {CLASSIFIER_FILE} counts {len(counts)}: the run directory was "
            "changed since training; rerun the run"
        )
    return spec, words


def load_classifier(run_dir: Path, n_words: int) -> object:
    """model.keras, refused in one line when it is not a whole Keras file of this vocabulary's size."""
    import zipfile

    from embedlab.run import MODEL_FILE

    path = run_dir / MODEL_FILE
    if not path.exists():
        raise EmbedlabError(
            f"{run_dir} has no {MODEL_FILE}: give the directory of a finished neural run made with save_model=true"
        )
    if not zipfile.is_zipfile(path):
        raise EmbedlabError(f"{path} is not a Keras model file (damaged, truncated or replaced); rerun the run")
    import keras

    import embedlab.training.models  # noqa: F401  (registers the custom layers the saved model uses)
    import embedlab.training.optimizers  # noqa: F401
    from embedlab.training.models import EMBEDDING_LAYER

    try:
        model = keras.saving.load_model(path, compile=False)
        rows = int(model.get_layer(EMBEDDING_LAYER).input_dim)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged or tampered file
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise EmbedlabError(
            f"{path} cannot be loaded ({reason}); the file is damaged or was changed, rerun the run"
        ) from None
    if rows != n_words:
        raise EmbedlabError(f"{path} has {rows} embedding rows but vocab.txt {n_words} words; rerun the run")
    return model


def predict_texts(run_dir: Path, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """A finished run's classifier on new texts: predicted class names and class probabilities."""
    from embedlab.data.text import Tokenizer, Vocabulary
    from embedlab.training.train import predict

    run_dir = finished_run(run_dir)
    spec, words = read_classifier(run_dir)
    empty = [i for i, text in enumerate(texts, 1) if not str(text).strip()]
    if empty:
        shown = ", ".join(map(str, empty[:5])) + (" ..." if len(empty) > 5 else "")
        raise EmbedlabError(f"text {shown} of {len(texts)} is empty; give every text some words")
    vocab = Vocabulary(tuple(words), tuple(spec["vocab_counts"]))
    tokenizer = Tokenizer(**spec["tokenizer"])
    model = load_classifier(run_dir, len(words))
    x = vocab.encode([tokenizer(t) for t in texts], spec["max_len"])
    probs = predict(model, x, spec["batch_size"], spec["min_len"])
    if not np.isfinite(probs).all():
        raise EmbedlabError(f"{run_dir}: the model gives non-finite probabilities; its weights are damaged, rerun it")
    return [spec["classes"][i] for i in probs.argmax(1)], probs


def neighbours(run_dir: Path, word: str, space: str = TRAINED, k: int = 10) -> list[tuple[str, float]]:
    """The k nearest words of a word in a run's trained or initial embedding (cosine)."""
    from gensim.models import KeyedVectors

    if k < 1:
        raise EmbedlabError(f"-k {k}: give how many neighbours to show, at least 1")
    if space not in RUN_SPACES:
        raise EmbedlabError(f"--space {space!r} is not a space of a run; use trained or initial")
    path = Path(run_dir) / f"embedding_{space}.w2v.bin"
    if not path.exists():
        raise EmbedlabError(f"{path} does not exist; give the directory of a finished run")
    finished_run(Path(run_dir))
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    except Exception as exc:  # noqa: BLE001 - gensim raises EOFError, ValueError, UnicodeError ... on a damaged file
        raise EmbedlabError(f"{path} is damaged or truncated ({type(exc).__name__}); rerun the run") from None
    if word not in kv.key_to_index:
        raise EmbedlabError(f"{word!r} is not in this run's vocabulary ({len(kv)} words)")
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=k)]


def _predict(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.input is None):
        raise EmbedlabError('give --text "..." (repeatable) or --input FILE --text-column NAME')
    if args.out is not None:
        if not args.out.parent.is_dir():
            raise EmbedlabError(f"--out {args.out}: the folder {args.out.parent} does not exist; create it first")
        if args.out.exists():
            raise EmbedlabError(f"--out {args.out} exists; give a new file name (embedlab never overwrites a file)")
    if args.text is not None:
        texts = list(args.text)
    else:
        from embedlab.data.datasets import read_table

        frame = read_table(Path(args.input), args.format, args.encoding, ("--format", "--encoding"))
        if args.text_column not in frame.columns:
            raise EmbedlabError(f"{args.input}: no column {args.text_column!r}; columns are {list(frame.columns)}")
        column = frame[args.text_column]
        texts = [
            "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value) for value in column
        ]
    labels, probs = predict_texts(args.run_dir, texts)
    spec, _ = read_classifier(Path(args.run_dir))
    columns = {"text": texts, "pred": probs.argmax(1), "label": labels}
    columns.update({f"p_{name}": probs[:, i].round(6) for i, name in enumerate(spec["classes"])})
    out = pd.DataFrame(columns)
    if args.out:
        from embedlab.core.jsonio import atomic_write

        atomic_write(args.out, lambda tmp: out.to_csv(tmp, index=False))
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
    commands = ("run", "sweep", "pretrain", "report", "predict", "neighbours", "results", "projection")
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
    if command == "results":
        from embedlab.studies.results import main as results_main

        return results_main(rest)
    if command == "projection":
        from embedlab.analysis.projection import main as projection_main

        return projection_main(rest)
    parser = argparse.ArgumentParser(prog=f"embedlab {command}")
    parser.add_argument("run_dir", type=Path, help="a finished run's directory")
    if command == "predict":
        parser.add_argument("--text", action="append", help="a text to classify (repeatable)")
        parser.add_argument("--input", help="a CSV/TSV/JSONL/Parquet file of texts")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--format", default=None, help="csv | tsv | jsonl | parquet (default: from the name)")
        parser.add_argument("--encoding", default="utf-8", help="the input file's encoding (latin-1, cp1252, ...)")
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
        print_error(exc)
        return 2
    except OSError as exc:  # e.g. --out on a full disk
        print_error(f"cannot write {exc.filename or 'the output'}: {exc.strerror}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
