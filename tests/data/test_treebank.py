"""The Stanford Sentiment Treebank read from its own PTB tree files: every node a phrase, SST-1 and SST-2 tasks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from embedlab.core.config import compose, typed
from embedlab.core.errors import EmbedlabError
from embedlab.data.datasets import load_raw
from embedlab.data.treebank import Phrase, parse_tree, read_trees, root_sentences, training_phrases


def test_a_three_node_tree_gives_three_phrases_root_first():
    assert parse_tree("(3 (2 not) (4 bad))") == [Phrase("not bad", "3"), Phrase("not", "2"), Phrase("bad", "4")]


def test_a_token_with_a_non_breaking_space_stays_one_token():
    phrases = parse_tree("(2 (2 8\u00a01\\/2) (2 .))")
    assert phrases[0].text == "8\u00a01\\/2 ." and phrases[1].text == "8\u00a01\\/2"


@pytest.mark.parametrize("line", ["(3 (2 a) (4 b)", "(3 (2 a)) extra", "(7 a)", "(3 )", "2 a"])
def test_malformed_trees_are_refused(line):
    with pytest.raises(ValueError):
        parse_tree(line)


def test_a_malformed_line_is_named_by_its_number(tmp_path):
    (tmp_path / "train.txt").write_text("(3 (2 a) (4 b))\n(3 (2 a)\n")
    with pytest.raises(EmbedlabError, match=r"train.txt: line 2 is not a labelled tree"):
        read_trees(tmp_path / "train.txt")


def test_a_missing_tree_file_names_the_release(tmp_path):
    with pytest.raises(EmbedlabError, match="trainDevTestTrees_PTB.zip"):
        read_trees(tmp_path / "sst/trees/train.txt")


def test_repeated_phrases_once_neutral_dropped_for_binary_and_held_out_sentences_never_trained(tmp_path):
    trees = [parse_tree("(3 (2 not) (4 bad))"), parse_tree("(1 (2 not) (0 good))")]
    texts, labels, notes = training_phrases(trees, binary=False, held_out={"not good"})  # keys are lower case
    assert texts == ["not bad", "not", "bad", "good"] and labels == ["3", "2", "4", "0"]
    assert notes["train_duplicates_dropped"] == 1 and notes["train_dev_test_overlap_dropped"] == 1
    texts, labels, _ = training_phrases(trees, binary=True, held_out=set())
    assert list(zip(texts, labels, strict=True)) == [("not bad", "1"), ("bad", "1"), ("not good", "0"), ("good", "0")]
    assert root_sentences(trees + [parse_tree("(2 (2 so) (2 so))")], binary=True) == (
        ["not bad", "not good"],
        ["1", "0"],
    )


@pytest.mark.data
def test_the_real_training_trees_hold_kims_phrases(data_dir):
    trees = read_trees(data_dir / "sst/trees/train.txt")
    texts, labels, notes = training_phrases(trees, binary=False, held_out=set())
    assert len(trees) == 8544 and notes["train_distinct_phrases"] == len(texts) == 159_274
    assert [Counter(labels)[c] for c in "01234"] == [7_233, 27_711, 81_658, 33_361, 9_311]
    assert len(training_phrases(trees, binary=True, held_out=set())[0]) == 77_616


def raw(task: str, data_dir: Path):
    return load_raw(typed(compose([f"task={task}"]).task), data_dir, data_dir)


def key(text: str) -> str:
    return " ".join(text.lower().replace("(", "-lrb-").replace(")", "-rrb-").replace("\\/", "/").split())


@pytest.mark.data
def test_tree_tasks_train_on_phrases_and_never_on_a_dev_or_test_sentence(data_dir):
    for task, sizes in (("sst1_phrases", (159_268, 1_101, 2_210)), ("sst2_tree_phrases", (77_614, 872, 1_821))):
        splits = raw(task, data_dir).splits
        assert tuple(len(splits[s][0]) for s in ("train", "dev", "test")) == sizes
        held_out = {key(t) for s in ("dev", "test") for t in splits[s][0]}
        assert not any(key(t) in held_out for t in splits["train"][0])


@pytest.mark.data
def test_the_tree_task_and_the_glue_task_evaluate_on_the_same_sentences(data_dir):
    trees, glue = raw("sst2_tree_phrases", data_dir).splits, raw("sst2_phrases", data_dir).splits
    for split in ("dev", "test"):  # same sentences and labels; GLUE's dev writes ( and / where the trees say -lrb-, \/
        assert Counter(map(key, trees[split][0])) == Counter(map(key, glue[split][0]))
        assert sorted(zip(map(key, trees[split][0]), trees[split][1], strict=True)) == sorted(
            zip(map(key, glue[split][0]), glue[split][1], strict=True)
        )
