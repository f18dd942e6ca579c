"""The benchmark's own helpers: generated vectors are real GloVe files, vocabularies have the asked size."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402


def test_synthetic_glove_file_loads_in_gensim(tmp_path):
    from gensim.models import KeyedVectors

    path = tmp_path / "glove.txt"
    words = bench.synthetic_glove(path, 25_003, 7, seed=1)
    vectors = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    assert len(vectors) == 25_003 and vectors.vector_size == 7 and list(vectors.index_to_key) == words
    assert bench.file_words(path) == words


def test_task_vocabulary_spreads_over_the_file_and_adds_missing_words():
    words = [f"w{i}" for i in range(100_000)]
    vocab = bench.task_vocabulary(words, size=20_000, missing=2_000)
    assert vocab[:2] == ["<pad>", "<unk>"] and len(vocab) == 20_002 and len(set(vocab)) == len(vocab)
    in_file = set(words)
    found = [w for w in vocab if w in in_file]
    assert len(found) == 18_000 and found[-1] == "w89995"  # every fifth word, reaching the rare end
    assert sum(w.startswith("oov") for w in vocab) == 2_000


def test_spread_and_child_measure_a_real_process():
    assert bench.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    seconds, peak_mb, out = bench.child(
        [sys.executable, "-c", "import numpy; a = numpy.ones(50_000_000); print(a.sum())"]
    )
    assert out.strip() == "50000000.0" and peak_mb > 350 and seconds > 0  # 400 MB array: its own peak, not ours
    with pytest.raises(RuntimeError, match="failed"):
        bench.child([sys.executable, "-c", "raise SystemExit(3)"])
    assert np.isfinite(seconds)


def test_outside_training_is_the_gap_between_run_ends_less_training(tmp_path):
    import json
    import os

    from bench import outside_training, run_ends

    for number, (end, train) in enumerate([(100.0, 9.0), (112.5, 10.0), (130.0, 14.0)]):
        folder = tmp_path / f"{number}_run"
        folder.mkdir()
        (folder / "config.yaml").write_text("seed: 1\n")
        (folder / "metrics.json").write_text(json.dumps({"train_seconds": train}))
        for name in ("config.yaml", "metrics.json"):
            os.utime(folder / name, (end - 1, end - 1 if name == "config.yaml" else end))
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "metrics.json").write_text("{}")  # not a run: no config.yaml beside it
    ends = run_ends(tmp_path)
    assert [e for e, _ in ends] == [100.0, 112.5, 130.0]
    assert outside_training(ends) == [2.5, 3.5]
