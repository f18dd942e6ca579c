"""Vector files in every supported format, the embedding matrix they give, the cache, and broken files."""

from __future__ import annotations

import gzip
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from embedlab.core.errors import EmbedlabError
from embedlab.core.schema import Embedding
from embedlab.data.text import OOV_ID, PAD_ID, Vocabulary
from embedlab.vectors.embeddings import glove6b_source, prepare_embedding
from embedlab.vectors.files import VectorSource, build_matrix, detect_format, load_pretrained

WORDS = ["alps", "himalaya", "good", "bad", "café"]


def embedding_cfg(**values):
    """An embedding config as the stage gets it: the schema's dataclass with these values."""
    return Embedding(**values)


@pytest.fixture
def kv(rng) -> KeyedVectors:
    vectors = KeyedVectors(vector_size=4)
    vectors.add_vectors(WORDS, rng.normal(size=(len(WORDS), 4)).astype(np.float32))
    return vectors


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary.build([["good", "good", "bad", "alps", "unseenword", "café"]])


def glove_text(kv: KeyedVectors) -> str:
    return "".join(f"{w} " + " ".join(f"{x:.6f}" for x in kv[w]) + "\n" for w in kv.index_to_key)


def write_format(kv: KeyedVectors, folder: Path, fmt: str) -> Path:
    if fmt == "glove":
        path = folder / "v.txt"
        path.write_text(glove_text(kv))
    elif fmt == "glove_gz":
        path = folder / "v.txt.gz"
        path.write_bytes(gzip.compress(glove_text(kv).encode()))
    elif fmt in ("word2vec_text", "fasttext_vec"):
        path = folder / ("v.vec" if fmt == "fasttext_vec" else "v.w2v.txt")
        kv.save_word2vec_format(str(path), binary=False)
    elif fmt == "word2vec_bin":
        path = folder / "v.w2v.bin"
        kv.save_word2vec_format(str(path), binary=True)
    elif fmt == "word2vec_bin_gz":
        kv.save_word2vec_format(str(folder / "plain.bin"), binary=True)
        path = folder / "v.bin.gz"
        path.write_bytes(gzip.compress((folder / "plain.bin").read_bytes()))
    return path


@pytest.mark.parametrize(
    ("fmt", "detected"),
    [
        ("glove", "glove"),
        ("glove_gz", "glove"),
        ("word2vec_text", "word2vec_text"),
        ("fasttext_vec", "word2vec_text"),
        ("word2vec_bin", "word2vec_bin"),
    ],
)
def test_every_text_and_binary_format_loads_the_same_vectors(tmp_path, kv, vocab, fmt, detected):
    path = write_format(kv, tmp_path, fmt)
    source = VectorSource(path)
    assert detect_format(source) == detected
    loaded = load_pretrained(source, vocab)
    assert loaded.words == ("good", "alps", "bad", "café")  # vocabulary order
    np.testing.assert_allclose(loaded.matrix, np.stack([kv[w] for w in loaded.words]), atol=1e-5)


def test_fasttext_bin_fills_unseen_words_from_subwords():
    vocab = Vocabulary.build([["the", "night", "nightsky", "zzzzqqq"]])
    loaded = load_pretrained(VectorSource(Path(datapath("lee_fasttext_new.bin"))), vocab)
    assert loaded.fmt == "fasttext_bin" and loaded.dim == 10
    filled = dict(zip(loaded.words, loaded.from_subwords, strict=True))
    assert filled["the"] is False and filled["nightsky"] is True


def test_zip_member_as_in_glove_6b_zip(tmp_path, kv, vocab):
    folder = tmp_path / "glove"
    folder.mkdir()
    with zipfile.ZipFile(folder / "glove.6B.zip", "w") as zf:
        zf.writestr("glove.6B.50d.txt", "x 1 2\n")
        zf.writestr("glove.6B.100d.txt", glove_text(kv))
    source = glove6b_source(tmp_path, 100)
    assert source.member == "glove.6B.100d.txt"
    assert load_pretrained(source, vocab).dim == 4


def test_glove6b_prefers_plain_file_then_trimmed_copy(tmp_path, kv):
    folder = tmp_path / "glove"
    folder.mkdir()
    (folder / "glove.6B.100d.top100k.txt.gz").write_bytes(gzip.compress(glove_text(kv).encode()))
    assert glove6b_source(tmp_path, 100).path.name == "glove.6B.100d.top100k.txt.gz"
    (folder / "glove.6B.100d.txt").write_text(glove_text(kv))
    assert glove6b_source(tmp_path, 100).path.name == "glove.6B.100d.txt"


def test_matrix_rows_align_with_the_vocabulary(tmp_path, kv, vocab):
    loaded = load_pretrained(VectorSource(write_format(kv, tmp_path, "glove")), vocab)
    matrix, coverage, missing = build_matrix(vocab, loaded, "uniform_matched", seed=0)
    assert matrix.shape == (len(vocab), 4)
    for word in ("good", "bad", "alps", "café"):
        np.testing.assert_allclose(matrix[vocab.index(word)], kv[word], atol=1e-5)
    assert not matrix[PAD_ID].any()
    assert missing[OOV_ID] and missing[vocab.index("unseenword")] and not missing[PAD_ID]
    limit = np.sqrt(3) * loaded.matrix.std()
    assert np.abs(matrix[vocab.index("unseenword")]).max() <= limit
    assert coverage.found == 4 and coverage.missing == 1
    assert coverage.types == pytest.approx(4 / 5) and coverage.tokens == pytest.approx(5 / 6)


def test_second_load_comes_from_the_cache(tmp_path, kv, vocab):
    path = write_format(kv, tmp_path, "glove")
    first = load_pretrained(VectorSource(path), vocab, cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache/vectors").glob("*.npz"))
    assert len(cached) == 1
    started = time.perf_counter()
    second = load_pretrained(VectorSource(path), vocab, cache_dir=tmp_path / "cache")
    assert time.perf_counter() - started < 1.0
    np.testing.assert_array_equal(first.matrix, second.matrix)
    other_vocab = Vocabulary.build([["alps", "bad"]])
    load_pretrained(VectorSource(path), other_vocab, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache/vectors").glob("*.npz"))) == 2


def test_truncated_text_row_is_an_error_with_line_number(tmp_path, kv, vocab):
    path = write_format(kv, tmp_path, "glove")
    path.write_text(path.read_text()[:-20])
    with pytest.raises(EmbedlabError, match=r"v.txt:5: row has \d+ values, expected 4"):
        load_pretrained(VectorSource(path), vocab)


@pytest.mark.parametrize(("fmt", "cut"), [("glove_gz", 12), ("word2vec_bin", 30)])
def test_a_truncated_gzip_or_word2vec_binary_is_an_error(tmp_path, kv, vocab, fmt, cut):
    path = write_format(kv, tmp_path, fmt)
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(EmbedlabError, match="truncated or corrupt"):
        load_pretrained(VectorSource(path), vocab)


def test_word2vec_header_count_larger_than_the_file_is_an_error(tmp_path, kv, vocab):
    path = write_format(kv, tmp_path, "word2vec_text")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    with pytest.raises(EmbedlabError, match="header says 5 vectors but the file has 3"):
        load_pretrained(VectorSource(path), vocab)


def test_non_numeric_value_is_an_error(tmp_path, kv, vocab):
    path = tmp_path / "v.txt"
    path.write_text("good 1 2 x 4\n")
    with pytest.raises(EmbedlabError, match="not a number"):
        load_pretrained(VectorSource(path), vocab)


def test_dimension_other_than_configured_is_an_error(tmp_path, kv, vocab):
    path = write_format(kv, tmp_path, "glove")
    with pytest.raises(EmbedlabError, match="has 4-dimensional vectors but embedding.dim=300"):
        load_pretrained(VectorSource(path), vocab, expected_dim=300)


def test_missing_vector_file_is_an_error(tmp_path, vocab):
    cfg = embedding_cfg(name="file", source="file", path=str(tmp_path / "nope.vec"), mode="frozen")
    with pytest.raises(EmbedlabError, match="nope.vec does not exist"):
        prepare_embedding(cfg, vocab, tmp_path, tmp_path, seed=0)


def test_supervised_fasttext_model_is_refused_clearly(vocab):
    path = Path(datapath("pang_lee_polarity_fasttext.bin"))
    with pytest.raises(EmbedlabError, match="a supervised fastText model"):
        load_pretrained(VectorSource(path), vocab)


def test_scratch_source_with_a_pretrained_mode_is_refused(tmp_path, vocab):
    with pytest.raises(EmbedlabError, match="use embedding.mode=scratch"):
        prepare_embedding(
            embedding_cfg(name="scratch", source="scratch", mode="frozen", dim=8), vocab, tmp_path, tmp_path, 0
        )


def test_gensim_test_data_prefix_and_gzip_fasttext_copy(tmp_path):
    shutil.copy(datapath("lee_fasttext_new.bin"), tmp_path / "ft.bin")
    vocab = Vocabulary.build([["the", "night"]])
    cfg = embedding_cfg(
        name="file", source="file", path="gensim-test-data:lee_fasttext_new.bin", mode="finetune", dim=None
    )
    emb = prepare_embedding(cfg, vocab, tmp_path, tmp_path, seed=0)
    assert emb.dim == 10 and emb.coverage.found == 2


def test_token_coverage_before_and_after_splitting_clitics(tmp_path):
    """Split on spaces, `doesn't` and `work.` have no GloVe row; split as GloVe's corpus was, every token has one."""
    from embedlab.data.text import Tokenizer
    from embedlab.vectors.embeddings import token_coverage
    from embedlab.vectors.files import VectorSource

    path = tmp_path / "v.txt"
    path.write_text("".join(f"{w} 0.1 0.2 0.3\n" for w in ("it", "does", "n't", "work", ".")))
    origin = (VectorSource(path), "glove")
    raw = ["It doesn't work.", "it does"]
    spaces = token_coverage([Tokenizer(style="whitespace")(t) for t in raw], origin, tmp_path)
    assert spaces == pytest.approx(3 / 5)  # it, it, does of: it doesn't work. it does
    assert token_coverage([Tokenizer(style="simple")(t) for t in raw], origin, tmp_path) == 1.0
    assert token_coverage([Tokenizer(style="kim2014")(t) for t in raw], origin, tmp_path) == 1.0


def test_scale_std_rescales_every_row_and_keeps_cosines(tmp_path, kv, vocab):
    path = tmp_path / "v.txt"
    kv.save_word2vec_format(str(path), binary=False)
    loaded = load_pretrained(VectorSource(path), vocab, "word2vec_text")
    plain, _, missing = build_matrix(vocab, loaded, "uniform_matched", seed=0)
    scaled, _, _ = build_matrix(vocab, loaded, "uniform_matched", seed=0, scale_std=0.144)
    found = ~missing & (np.arange(len(vocab)) != 0)
    assert float(scaled[found].std()) == pytest.approx(0.144 * float(plain[found].std()) / float(loaded.matrix.std()))
    assert np.allclose(scaled, plain * (0.144 / loaded.matrix.std()), atol=1e-6)  # one factor: cosines unchanged
    assert not scaled[0].any()  # padding stays zero
    with pytest.raises(EmbedlabError, match="embedding.scale_std=0 must be positive"):
        build_matrix(vocab, loaded, "uniform_matched", seed=0, scale_std=0)


def test_init_limit_reaches_scratch_and_is_refused_elsewhere(tmp_path, vocab):
    emb = prepare_embedding(
        embedding_cfg(name="scratch", source="scratch", mode="scratch", dim=8, init_limit=0.25),
        vocab,
        tmp_path,
        tmp_path,
        0,
    )
    assert emb.init_limit == 0.25 and emb.matrix is None
    with pytest.raises(EmbedlabError, match=r"embedding.init_limit=-1.0 must be a positive number"):
        prepare_embedding(
            embedding_cfg(name="scratch", source="scratch", mode="scratch", dim=8, init_limit=-1.0),
            vocab,
            tmp_path,
            tmp_path,
            0,
        )
    cfg = embedding_cfg(name="file", source="file", path=str(tmp_path / "v.vec"), mode="frozen", init_limit=0.25)
    with pytest.raises(EmbedlabError, match="embedding.init_limit=0.25 applies to embedding=scratch only"):
        prepare_embedding(cfg, vocab, tmp_path, tmp_path, seed=0)


def test_nearest_is_gensims_most_similar_for_every_word_at_once():
    from gensim.models import KeyedVectors

    from embedlab.vectors.space import nearest

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    kv = KeyedVectors(8)
    kv.add_vectors(words, rng.normal(size=(60, 8)).astype(np.float32))
    found = nearest(kv, ["w1", "w7", "absent"], 5)
    assert set(found) == {"w1", "w7"}
    for word in ("w1", "w7"):
        expected = kv.most_similar(word, topn=5)
        assert [w for w, _ in found[word]] == [w for w, _ in expected]
        assert np.allclose([c for _, c in found[word]], [c for _, c in expected], atol=1e-6)
    excluded = [w for w, _ in nearest(kv, ["w1"], 5, exclude=[found["w1"][0][0]])["w1"]]
    assert excluded == [w for w, _ in found["w1"][1:]] + [excluded[-1]] and found["w1"][0][0] not in excluded
    assert nearest(kv, ["w1"], 0) == {"w1": []}
