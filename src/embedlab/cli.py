"""The `embedlab` command: run, sweep, pretrain, report, predict, neighbours.

embedlab run task=sst2 embedding=glove6b embedding.mode=finetune      # one run (Hydra overrides)
embedlab sweep experiment=seed_question                                # a study, 2 jobs x 1 thread here
embedlab pretrain pretrain=word2vec                                    # vectors trained by embedlab, cached
embedlab report results/seed_question                                  # table + report of a folder of runs
embedlab predict RUN_DIR --text "a gorgeous, witty film"               # labels and probabilities
embedlab predict RUN_DIR --input new.csv --text-column text --out preds.csv
embedlab neighbours RUN_DIR good --space trained -k 10
embedlab tune experiment=tuned +arm=scratch,glove6b_finetune --budget 20 --seeds 3   # equal tuning budget per arm
embedlab results FOLDER                                                # the results table alone (no report)
embedlab projection out.png RUN_DIR ...                                # sentence projections of runs side by side

`embedlab` is the one entry point; `python -m embedlab.run ...` is the same as `embedlab run ...` (the tests use it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.analysis.projection import main as projection_main
from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import atomic_write
from embedlab.core.rundir import RunDir, finished_run
from embedlab.vectors.space import RUN_SPACES, TRAINED, nearest

SWEEP_DEFAULTS = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]


def sweep_arguments(args: Sequence[str]) -> list[str]:
    """`embedlab sweep ARGS` as a Hydra multirun: joblib here, 2 jobs x 1 thread, unless ARGS choose otherwise."""
    given = {a.lstrip("+").split("=", 1)[0] for a in args}
    defaults = [d for d in SWEEP_DEFAULTS if d.split("=", 1)[0] not in given]  # the user's choice wins
    if "hydra/launcher" in given:  # another launcher (ray_cluster, slurm): joblib's settings are not its own
        defaults = []
    return ["-m", *defaults, *args]


def neighbours(run_dir: Path, word: str, space: str = TRAINED, k: int = 10) -> list[tuple[str, float]]:
    """The k nearest words of a word in a run's trained or initial embedding (cosine)."""
    from gensim.models import KeyedVectors

    if k < 1:
        raise EmbedlabError(f"-k {k}: give how many neighbours to show, at least 1")
    if space not in RUN_SPACES:
        raise EmbedlabError(f"--space {space!r} is not a space of a run; use trained or initial")
    path = RunDir(run_dir).space(space)
    if not path.exists():
        raise EmbedlabError(f"{path} does not exist; give the directory of a finished run")
    finished_run(Path(run_dir))
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    except Exception as exc:  # noqa: BLE001 - gensim raises EOFError, ValueError, UnicodeError ... on a damaged file
        raise EmbedlabError(f"{path} is damaged or truncated ({type(exc).__name__}); rerun the run") from None
    if word not in kv.key_to_index:
        raise EmbedlabError(f"{word!r} is not in this run's vocabulary ({len(kv)} words)")
    return nearest(kv, [word], k)[word]


def _predict(args: argparse.Namespace) -> int:
    from embedlab.training.classifier import predict_texts  # TensorFlow: only when predicting

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
        from embedlab.data.datasets import read_table  # lazy: +66 ms at import

        frame = read_table(Path(args.input), args.format, args.encoding, ("--format", "--encoding"))
        if args.text_column not in frame.columns:
            raise EmbedlabError(f"{args.input}: no column {args.text_column!r}; columns are {list(frame.columns)}")
        column = frame[args.text_column]
        texts = [
            "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value) for value in column
        ]
    labels, probs, classes = predict_texts(args.run_dir, texts)  # classifier.json and vocab.txt read once
    columns = {"text": texts, "pred": probs.argmax(1), "label": labels}
    columns.update({f"p_{name}": probs[:, i].round(6) for i, name in enumerate(classes)})
    out = pd.DataFrame(columns)
    if args.out:
        atomic_write(args.out, lambda tmp: out.to_csv(tmp, index=False))
        print(f"{len(out)} predictions -> {args.out}")
    else:
        for record in out.to_dict("records"):
            shown = ", ".join(f"{name} {record[f'p_{name}']:.3f}" for name in classes)
            print(f"{record['label']}\t({shown})\t{record['text']}")
    return 0


def _neighbours(args: argparse.Namespace) -> int:
    for word, similarity in neighbours(args.run_dir, args.word, args.space, args.k):
        print(f"{similarity:.3f}\t{word}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("run", "sweep", "tune", "pretrain", "report", "predict", "neighbours", "results", "projection")
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(__doc__.strip() + "\n\n`embedlab <command> --help` for each command.")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    try:
        return _command(argv[0], argv[1:])
    except EmbedlabError as exc:  # one wrapper for every subcommand: one line, exit 2
        print_error(exc)
        return 2
    except OSError as exc:  # e.g. predict --out on a full disk
        print_error(f"cannot write {exc.filename or 'the output'}: {exc.strerror}")
        return 2


def _command(command: str, rest: list[str]) -> int:
    if command in ("run", "sweep"):
        from embedlab.run import cli  # lazy: +349 ms at import (Hydra)

        if rest[:1] in (["-h"], ["--help"]):
            print(
                f"embedlab {command} [Hydra overrides ...]: see `embedlab {command} --hydra-help`; "
                "groups and options are in the README"
            )
            return 0
        cli(rest if command == "run" else sweep_arguments(rest))
        return 0
    if command == "pretrain":
        from embedlab.core.config import export_locations  # lazy: +326 ms at import (Hydra, OmegaConf)
        from embedlab.vectors.pretrain import main as pretrain_main  # lazy: +446 ms at import

        export_locations()
        sys.argv = [sys.argv[0], *rest]
        pretrain_main()
        return 0
    if command == "report":
        from embedlab.studies.report import main as report_main  # lazy: +73 ms at import

        return report_main(rest)
    if command == "tune":
        from embedlab.core.config import export_locations  # lazy: +326 ms at import (Hydra, OmegaConf)
        from embedlab.studies.tune import main as tune_main  # lazy: +336 ms at import (Hydra)

        export_locations()
        return tune_main(rest)
    if command == "results":
        from embedlab.studies.results import main as results_main  # lazy: +28 ms at import

        return results_main(rest)
    if command == "projection":
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
    return handler(parser.parse_args(rest))


if __name__ == "__main__":
    sys.exit(main())
