"""Analysis on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab.analysis.learned import class_indicative_words, drift, log_odds, mean_pair_cosine
from embedlab.core.schema import Corpus, Projection
from embedlab.data.text import Vocabulary


def projection_cfg(**values):
    """analysis.projection as the stage gets it: the schema's dataclass with these values."""
    return Projection(**values)


def space(vectors: dict[str, list[float]]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=len(next(iter(vectors.values()))))
    kv.add_vectors(list(vectors), np.array(list(vectors.values()), dtype=np.float32))
    return kv


def test_mean_pair_cosine_known_values_and_missing_pairs():
    kv = space({"good": [1, 0], "bad": [-1, 0], "great": [2, 0], "awful": [0, 3]})
    assert mean_pair_cosine(kv, [("good", "bad")]) == (pytest.approx(-1.0), 1)
    assert mean_pair_cosine(kv, [("good", "great"), ("good", "awful"), ("good", "nope")]) == (pytest.approx(0.5), 2)
    value, n = mean_pair_cosine(kv, [("x", "y")])
    assert n == 0 and np.isnan(value)


def test_drift_by_frequency_bucket_on_constructed_matrices():
    vocab = Vocabulary(("<pad>", "<unk>", "a", "b", "c", "d"), (0, 0, 60, 10, 2, 0))
    initial = np.array([[0, 0], [1, 1], [1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    trained = initial.copy()
    trained[2] = [0, 1]  # "a" turned 90 degrees
    trained[4] = [-1, 0]  # "c" reversed
    result = drift(initial, trained, vocab, vocab.counts)
    table = result.table.set_index("word")
    assert table.loc["a", "cosine"] == pytest.approx(0.0) and table.loc["c", "cosine"] == pytest.approx(-1.0)
    assert table.loc["b", "cosine"] == pytest.approx(1.0) and not table.loc["b", "changed"]
    buckets = result.by_bucket.set_index("bucket")
    assert buckets.loc["50+", "words"] == 1 and buckets.loc["50+", "share_unchanged"] == 0.0
    assert buckets.loc["5-49", "share_unchanged"] == 1.0 and buckets.loc["0", "share_unchanged"] == 1.0
    assert buckets.loc["1-4", "mean_cosine"] == pytest.approx(-1.0)
    assert result.movers(1)["word"].tolist() == ["c"]


def test_log_odds_finds_the_class_words_of_a_toy_corpus():
    docs = [["great", "film"], ["great", "fun"], ["great", "film"], ["awful", "film"], ["awful", "plot"], ["awful"]]
    labels = np.array([1, 1, 1, 0, 0, 0])
    vocab = Vocabulary.build(docs)
    table = log_odds(docs, labels, vocab)
    top = table[table["class"] == 1].nlargest(1, "log_odds")["word"].item()
    assert top == "great"
    film = table[(table["word"] == "film")].set_index("class")["log_odds"]
    assert film[1] > 0 > film[0]
    assert class_indicative_words(table, per_class=1, min_count=2, vocab=vocab) == ["awful", "great"]


# --- intrinsic scores with known answers -------------------------------------------------------------------------


def angle_space(angles: dict[str, float]) -> KeyedVectors:
    """2-D unit vectors at the given angles (degrees): cosine between two words is cos(angle difference)."""
    return space({w: [np.cos(np.radians(a)), np.sin(np.radians(a))] for w, a in angles.items()})


def test_user_pair_file_gives_spearman_exactly_one_and_minus_one(tmp_path):
    from embedlab.vectors.intrinsic import intrinsic_scores

    kv = angle_space({"a": 0, "b": 10, "c": 40, "d": 80, "e": 120})
    # human scores fall as the angle from "a" grows, so cosine and score rank the pairs identically
    agree = tmp_path / "agree.tsv"
    agree.write_text("# word1\tword2\tscore\na\tb\t9.0\na\tc\t6.5\na\td\t3.0\na\te\t1.0\na\tzzz\t5.0\n")
    disagree = tmp_path / "disagree.tsv"
    disagree.write_text("a\tb\t1.0\na\tc\t3.0\na\td\t6.5\na\te\t9.0\n")
    scores = intrinsic_scores(kv, extra_pairs={"agree": agree, "disagree": disagree})
    assert scores["agree_spearman"] == pytest.approx(1.0)
    assert scores["disagree_spearman"] == pytest.approx(-1.0)
    assert scores["agree_coverage"] == pytest.approx(0.8)  # the pair with "zzz" is not covered
    assert np.isnan(scores["wordsim353_spearman"]) and scores["wordsim353_coverage"] == 0.0


def test_user_analogy_file_is_scored(tmp_path):
    from embedlab.vectors.intrinsic import intrinsic_scores

    # king - man + woman = queen exactly; paris - france + italy = rome exactly
    kv = space(
        {
            "man": [1, 0, 0, 0],
            "woman": [1, 1, 0, 0],
            "king": [1, 0, 1, 0],
            "queen": [1, 1, 1, 0],
            "france": [0, 0, 0, 1],
            "paris": [0, 0, 1, 1],
            "italy": [0, 1, 0, 1],
            "rome": [0, 1, 1, 1],
        }
    )
    questions = tmp_path / "analogies.txt"
    questions.write_text(": toy\nman woman king queen\nfrance paris italy rome\nman woman king nowhere\n")
    scores = intrinsic_scores(kv, extra_analogies={"toy": questions})
    assert scores["toy_accuracy"] == pytest.approx(1.0) and scores["toy_questions_attempted"] == 2


def test_missing_user_pair_file_is_a_clear_error(tmp_path):
    from embedlab.core.errors import EmbedlabError
    from embedlab.vectors.intrinsic import intrinsic_scores

    with pytest.raises(EmbedlabError, match=r"analysis.pair_sets.mine: file .*nope.tsv not found"):
        intrinsic_scores(space({"a": [1.0, 0.0]}), extra_pairs={"mine": tmp_path / "nope.tsv"})


# --- neighbours, overlap@k, missing probes ------------------------------------------------------------------------


def test_overlap_at_k_and_missing_probes_on_constructed_spaces(tmp_path):
    from embedlab.analysis.neighbours import neighbour_table, overlap_at_k, write_neighbour_report

    first = angle_space({"p": 0, "a": 5, "b": 10, "c": 90, "d": 170})
    second = angle_space({"p": 0, "a": 175, "b": 10, "c": 5, "d": 90})  # keeps b, swaps a for c near p
    third = angle_space({"a": 0, "b": 1})  # lacks the probe
    spaces = {"first": first, "second": second, "third": third}
    table = neighbour_table(spaces, ["p"], k=2)
    top = table[table["space"] == "first"].sort_values("rank")["neighbour"].tolist()
    assert top == ["a", "b"]
    overlap = overlap_at_k(table, list(spaces), 2)
    assert overlap.loc["first", "second"] == pytest.approx(0.5)  # {a, b} vs {c, b}
    assert overlap.loc["first", "first"] == pytest.approx(1.0)
    assert np.isnan(overlap.loc["first", "third"])
    missing = table[table["space"] == "third"]
    assert len(missing) == 1 and bool(missing["missing"].iloc[0])
    write_neighbour_report(tmp_path, spaces, ["p"], 2, "toy")
    assert "*(missing)*" in (tmp_path / "neighbours.md").read_text()
    assert "(missing)" in (tmp_path / "neighbours.html").read_text()
    assert pd.read_csv(tmp_path / "neighbour_overlap.csv", index_col="space").loc["first", "second"] == 0.5


def test_neighbours_are_gensims_most_similar_for_every_probe_of_a_space():
    from gensim.models import KeyedVectors

    from embedlab.analysis.neighbours import neighbour_table

    rng = np.random.default_rng(0)
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors([f"w{i}" for i in range(300)], rng.normal(size=(300, 8)).astype(np.float32))
    probes = ["w0", "w17", "absent", "w299"]
    table = neighbour_table({"s": kv}, probes, k=7)
    for probe in ("w0", "w17", "w299"):
        got = table[table["probe"] == probe].sort_values("rank")
        expected = kv.most_similar(probe, topn=7)
        assert got["neighbour"].tolist() == [w for w, _ in expected]
        np.testing.assert_allclose(got["cosine"], [c for _, c in expected], atol=1e-4)
    assert bool(table[table["probe"] == "absent"]["missing"].iloc[0])


# --- class axis, vocabulary, pooling ---------------------------------------------------------------------------


def toy_task(rng, words: int = 120, docs: int = 600):
    """Documents whose words carry a known polarity: word i leans positive with probability p_i."""
    vocab_words = [f"w{i}" for i in range(words)]
    lean = np.linspace(0.05, 0.95, words)
    labels = rng.integers(0, 2, size=docs)
    token_lists = []
    for label in labels:
        weights = lean if label == 1 else 1 - lean
        picks = rng.choice(words, size=12, p=weights / weights.sum())
        token_lists.append([vocab_words[i] for i in picks])
    return token_lists, labels


def polar_and_random_spaces(rng):
    """A space whose first dimension is the toy task's class log-odds, and a random one."""
    from embedlab.analysis.learned import log_odds

    docs, labels = toy_task(rng)
    vocab = Vocabulary.build(docs)
    odds = log_odds(docs, labels, vocab)
    polarity = odds[odds["class"] == 1].set_index("word")["log_odds"]
    polar = rng.normal(size=(len(vocab), 8)).astype(np.float32) * 0.01
    polar[2:, 0] = polarity.loc[list(vocab.words[2:])].to_numpy()  # one dimension is the class axis
    random = rng.normal(size=(len(vocab), 8)).astype(np.float32)
    return polar, random, odds, vocab


def test_class_axis_probe_finds_polarity_in_a_polarity_space_and_not_in_random_ones(rng):
    from embedlab.analysis.learned import class_axis_r2
    from embedlab.vectors.space import Space

    polar, random, odds, vocab = polar_and_random_spaces(rng)
    scores, n = class_axis_r2([Space.full("polar", polar), Space.full("random", random)], odds, vocab, min_count=5)
    assert n >= 50
    assert scores["polar"] > 0.95
    assert scores["random"] < 0.2


def test_class_axis_scores_memoised_by_content_come_back_unchanged(tmp_path, rng):
    from embedlab.analysis.learned import class_axis_r2
    from embedlab.vectors.space import Space

    polar, random, odds, vocab = polar_and_random_spaces(rng)
    spaces = [Space.full("polar", polar), Space.full("random", random)]
    cold, _ = class_axis_r2(spaces, odds, vocab, min_count=5)
    first, _ = class_axis_r2(spaces, odds, vocab, min_count=5, cache_dir=tmp_path)
    assert len(list((tmp_path / "memo").glob("class-axis-*.json"))) == 2
    again, _ = class_axis_r2(spaces, odds, vocab, min_count=5, cache_dir=tmp_path)
    assert first == again == cold
    shifted = [Space.full("polar", polar + 1.0), spaces[1]]  # another matrix is another key
    class_axis_r2(shifted, odds, vocab, min_count=5, cache_dir=tmp_path)
    assert len(list((tmp_path / "memo").glob("class-axis-*.json"))) == 3


def test_vocabulary_extra_words_are_indexed_with_count_zero():
    vocab = Vocabulary.build([["a", "b", "a"]], extra=[["c", "a"], ["d", "c"]])
    assert vocab.words == ("<pad>", "<unk>", "a", "b", "c", "d")
    assert vocab.counts == (0, 0, 2, 1, 0, 0)


def test_mean_pool_skips_padding_and_words_a_space_lacks():
    from embedlab.analysis.projection import mean_pool
    from embedlab.vectors.space import Space

    matrix = np.array([[0, 0], [5, 5], [1, 0], [0, 1], [9, 9]], dtype=np.float32)
    ids = np.array([[2, 3, 0, 0], [2, 1, 4, 0]])
    own = Space.full("trained", matrix)
    present = own.present.copy()
    present[4] = False
    ref = Space("ref", matrix, present)
    np.testing.assert_allclose(mean_pool(ids, own, include_unk=True), [[0.5, 0.5], [5, 14 / 3]])
    np.testing.assert_allclose(mean_pool(ids, ref, include_unk=False), [[0.5, 0.5], [1, 0]])


# --- projection figures, projector export, references -----------------------------------------------------------


def fake_run(folder, rng, names, embedding="scratch", n_test=80, vocab_size=30, cache_dir=None):
    """A run directory holding what the analysis writes for projections (sentences.npz, metrics.json)."""
    from embedlab.analysis.projection import sample_sentences, write_projections
    from embedlab.vectors.space import Space

    folder.mkdir(parents=True)
    ids = rng.integers(0, vocab_size, size=(n_test, 6))
    labels = rng.integers(0, 2, size=n_test)
    sample = sample_sentences(ids, labels, ["neg", "pos"], 50, 0, ["an example"], ids[:1])
    spaces = [Space.full(name, rng.normal(size=(vocab_size, 4)).astype(np.float32)) for name in names]
    write_projections(folder, spaces, sample, projection_cfg(methods=["pca", "tsne"]), "toy", cache_dir)
    (folder / "metrics.json").write_text(f'{{"embedding": "{embedding}", "mode": "finetune", "seed": 1}}')
    return folder


def panels_in(png) -> float:
    import matplotlib.image

    height, width = matplotlib.image.imread(png).shape[:2]
    return (width / height) * 2  # 2 method rows, each panel about as wide as tall


def test_projection_figure_has_one_panel_per_space(tmp_path, rng):
    run = fake_run(tmp_path / "run", rng, ["trained", "initial", "glove6b"])
    coords = pd.read_csv(run / "projection.csv")
    assert sorted(coords["panel"].unique()) == ["glove6b", "initial", "trained"]
    assert sorted(coords["method"].unique()) == ["pca", "tsne"]
    assert coords["example"].dropna().tolist().count("an example") == 6  # labelled in every panel
    assert round(panels_in(run / "projection.png")) == 3


def test_too_few_t_sne_iterations_is_a_clear_error(tmp_path, rng):
    from embedlab.analysis.projection import sample_sentences, write_projections
    from embedlab.core.errors import EmbedlabError
    from embedlab.vectors.space import Space

    ids = rng.integers(0, 30, size=(40, 6))
    sample = sample_sentences(ids, rng.integers(0, 2, size=40), ["neg", "pos"], 30)
    space = Space.full("trained", rng.normal(size=(30, 4)).astype(np.float32))
    with pytest.raises(EmbedlabError, match="tsne_iterations: 100"):
        write_projections(tmp_path, [space], sample, projection_cfg(methods=["tsne"], tsne_iterations=100), "toy")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_comparison_figure_across_runs_has_a_panel_per_source(tmp_path, rng):
    from embedlab.analysis.projection import main

    a = fake_run(tmp_path / "a", np.random.default_rng(1), ["trained", "initial"], "scratch")
    b = fake_run(tmp_path / "b", np.random.default_rng(2), ["trained", "initial", "glove6b"], "glove6b")
    out = tmp_path / "compare.png"
    assert main([str(out), str(a), str(b)]) == 0
    assert round(panels_in(out)) == 3  # scratch, glove6b (finetune), glove6b (reference)
    assert main([str(out), str(a), str(b)]) == 2  # never overwrites without --force


def test_comparison_reads_back_the_t_sne_coordinates_the_runs_memoised(tmp_path):
    from embedlab.analysis.projection import main

    cache = tmp_path / "cache"
    a = fake_run(tmp_path / "a", np.random.default_rng(1), ["trained", "initial"], cache_dir=cache)
    b = fake_run(tmp_path / "b", np.random.default_rng(2), ["trained", "initial"], cache_dir=cache)
    memoised = sorted(p.name for p in (cache / "memo").iterdir())
    assert len(memoised) == 4  # t-SNE of trained and initial in each run
    assert main([str(tmp_path / "c.png"), str(a), str(b), "--cache-dir", str(cache)]) == 0
    assert sorted(p.name for p in (cache / "memo").iterdir()) == memoised  # nothing computed afresh


def test_comparison_refuses_runs_of_different_sentences(tmp_path, capsys):
    from embedlab.analysis.projection import main

    a = fake_run(tmp_path / "a", np.random.default_rng(1), ["trained"], n_test=80)
    b = fake_run(tmp_path / "b", np.random.default_rng(1), ["trained"], n_test=90)
    assert main([str(tmp_path / "x.png"), str(a), str(b)]) == 2
    assert "drew other test sentences" in capsys.readouterr().err


def test_projector_export_is_a_readable_checkpoint_with_matching_metadata(tmp_path, rng):
    import tensorflow as tf

    from embedlab.analysis.projector import export_projector

    docs, labels = toy_task(rng)
    vocab = Vocabulary.build(docs)
    trained = rng.normal(size=(len(vocab), 5)).astype(np.float32)
    folder = export_projector(tmp_path / "projector", vocab, {"trained": trained}, 50, log_odds(docs, labels, vocab))
    reader = tf.train.load_checkpoint(str(folder))
    tensor = reader.get_tensor("trained/.ATTRIBUTES/VARIABLE_VALUE")
    np.testing.assert_allclose(tensor, trained[2:52])
    meta = pd.read_csv(folder / "metadata.tsv", sep="\t")
    assert meta["word"].tolist() == list(vocab.words[2:52]) and {"log_odds_0", "log_odds_1"} <= set(meta)
    config = (folder / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "trained/.ATTRIBUTES/VARIABLE_VALUE"' in config and "metadata.tsv" in config


def test_references_on_disk_are_loaded_and_absent_ones_reported(tmp_path, rng):
    from embedlab.vectors.references import load_references

    vocab = Vocabulary.build([["good", "bad", "movie", "good"]])
    (tmp_path / "glove").mkdir()
    rows = {"good": [1.0, 0.0], "movie": [0.0, 1.0], "other": [1.0, 1.0]}
    (tmp_path / "glove" / "glove.6B.50d.txt").write_text(
        "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items())
    )
    corpus = Corpus(name="imdb_unsup", kind="imdb_unsup", archive="imdb/aclImdb_v1.tar.gz")
    spaces, origin = load_references(
        ["glove6b", "word2vec"], vocab, tmp_path, tmp_path / "cache", corpus, None, glove6b_dim=50
    )
    assert [s.name for s in spaces] == ["glove6b"]
    glove = spaces[0]
    assert glove.present.tolist() == [False, False, True, False, True]  # pad, unk, good, bad (absent), movie
    np.testing.assert_allclose(glove.matrix[vocab.index("movie")], [0.0, 1.0])
    assert origin["word2vec"].startswith("not available")
    assert not (tmp_path / "imdb").exists()  # the corpus was never downloaded for a reference


def test_vectorised_analogies_match_gensim_on_real_vectors():
    from gensim.test.utils import datapath

    from embedlab.vectors.intrinsic import analogy_scores

    kv = KeyedVectors.load_word2vec_format(datapath("euclidean_vectors.bin"), binary=True)
    for restrict in (300, 30000):
        expected, sections = kv.evaluate_word_analogies(datapath("questions-words.txt"), restrict_vocab=restrict)
        attempted = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
        ours = analogy_scores(kv, "analogy", datapath("questions-words.txt"), restrict)
        assert ours["analogy_questions_attempted"] == attempted > 0
        assert ours["analogy_accuracy"] == pytest.approx(expected)
