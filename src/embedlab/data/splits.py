"""Turn a loader's raw splits into checked train/dev/test arrays: published splits first, seeded ones otherwise."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from embedlab.core.errors import EmbedlabError
from embedlab.data.datasets import RawTask

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Task


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: np.ndarray  # class ids, int64

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: np.ndarray) -> Split:
        return Split([self.texts[i] for i in indices], self.labels[indices])


@dataclass(frozen=True)
class TaskData:
    name: str
    classes: tuple[str, ...]
    train: Split
    dev: Split
    test: Split
    origin: dict[str, str]
    notes: dict[str, int] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)}


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A permutation whose every prefix is (nearly) class-balanced as the whole: prefixes are nested samples.

    Each class is shuffled, and its j-th item gets the key (j + 0.5) / class_size; sorting by key interleaves
    the classes in proportion. A sample of n is the first n items, so a smaller sample is always a subset of
    a larger one drawn with the same seed.
    """
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels), dtype=np.float64)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        shuffled = rng.permutation(members)
        keys[shuffled] = (np.arange(len(members)) + 0.5) / len(members)
    tiebreak = rng.random(len(labels))
    return np.lexsort((tiebreak, keys))


def _holdout(split: Split, fraction: float, seed: int, what: str) -> tuple[Split, Split]:
    """Split off a stratified fraction (returned second) with a fixed seed."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise EmbedlabError(f"task.{what}={fraction} must be a fraction between 0 and 1")
    order = stratified_order(split.labels, seed)
    n_out = max(1, int(round(len(split) * fraction)))
    return split.take(np.sort(order[n_out:])), split.take(np.sort(order[:n_out]))


def cv_fold(split: Split, folds: int, split_seed: int, seed: int) -> tuple[Split, Split]:
    """k-fold cross-validation by seed: the test split is fold (seed - 1) mod k of a stratified k-fold partition.

    The partition depends on split_seed only, so seeds 1..k test on every example exactly once (Kim 2014's 10-fold
    CV for MR, Subj, MPQA), and two sources run with the same seed are compared on the same fold.
    """
    if folds < 2 or folds > len(split):
        raise EmbedlabError(f"task.cv_folds={folds} must be between 2 and the number of examples ({len(split)})")
    fold = (seed - 1) % folds
    position = np.empty(len(split), dtype=np.int64)
    position[stratified_order(split.labels, split_seed)] = np.arange(len(split))
    in_test = position * folds // len(split) == fold  # contiguous chunks of a class-balanced order are balanced
    return split.take(np.flatnonzero(~in_test)), split.take(np.flatnonzero(in_test))


def subsample(split: Split, size: int | float | None, seed: int) -> Split:
    """task.train_size as a count or a fraction; nested across sizes for the same seed."""
    if size is None:
        return split
    if isinstance(size, float):
        if not 0 < size <= 1:
            raise EmbedlabError(f"task.train_size={size} must be a fraction in (0, 1] or a whole count such as 500")
        count = max(1, int(round(len(split) * size)))
    else:
        count = int(size)
        if count < 1:
            raise EmbedlabError(f"task.train_size={size} must be positive")
        if count > len(split):
            raise EmbedlabError(
                f"task.train_size={count} is larger than the training set ({len(split)} examples); "
                "use a smaller count or a fraction"
            )
    order = stratified_order(split.labels, seed)
    return split.take(np.sort(order[:count]))


def _fraction(value: float | None) -> float:
    """task.test_fraction / dev_fraction: 0.1 when unset (null), else exactly what the user gave."""
    return 0.1 if value is None else value


def _to_ids(raw: tuple[list[str], list[str]], classes: tuple[str, ...], where: str) -> Split:
    texts, labels = raw
    index = {c: i for i, c in enumerate(classes)}
    ids = np.empty(len(labels), dtype=np.int64)
    for row, (text, label) in enumerate(zip(texts, labels, strict=True)):
        label = label.strip()
        if label not in index:
            raise EmbedlabError(
                f"{where}: label {label!r} (row {row + 1}) is not one of task.classes {list(classes)}; "
                "fix the file or task.classes/task.label_values"
            )
        if not str(text).strip():
            raise EmbedlabError(f"{where}: row {row + 1} has an empty text; remove empty rows")
        ids[row] = index[label]
    return Split(list(texts), ids)


def prepare(raw: RawTask, task: Task, seed: int) -> TaskData:
    """Map labels to ids, use published splits where they exist, carve the rest with task.split_seed."""
    train_raw = raw.splits.get("train") or raw.splits.get("all")
    if train_raw is None or not train_raw[0]:
        raise EmbedlabError(f"{raw.origin.get('train') or raw.origin.get('all')}: no examples found")
    label_values = task.label_values or task.classes or sorted({label.strip() for label in train_raw[1]})
    label_values = tuple(str(v).strip() for v in label_values)
    names = tuple(str(c) for c in (task.classes or label_values))
    if len(names) != len(label_values):
        raise EmbedlabError(f"task.classes has {len(names)} names but task.label_values has {len(label_values)}")

    def where(split: str) -> str:
        return raw.origin.get(split) or raw.origin.get("all") or task.name

    split_seed = task.split_seed
    if "train" in raw.splits:
        train = _to_ids(raw.splits["train"], label_values, where("train"))
        test = _to_ids(raw.splits["test"], label_values, where("test"))
    else:
        everything = _to_ids(raw.splits["all"], label_values, where("all"))
        if task.cv_folds:
            train, test = cv_fold(everything, task.cv_folds, split_seed, seed)
        else:
            train, test = _holdout(everything, _fraction(task.test_fraction), split_seed, "test_fraction")
    if "dev" in raw.splits:
        dev = _to_ids(raw.splits["dev"], label_values, where("dev"))
    else:
        train, dev = _holdout(train, _fraction(task.dev_fraction), split_seed + 1, "dev_fraction")

    train = subsample(train, task.train_size, seed if task.sample_seed is None else task.sample_seed)
    present = Counter(train.labels.tolist())
    if not present:
        raise EmbedlabError(
            f"{where('train')}: the training split is empty; give more rows or lower the held-out fractions"
        )
    if len(present) < 2:
        size = f" (task.train_size={task.train_size})" if task.train_size is not None else ""
        raise EmbedlabError(
            f"{where('train')}: the training data{size} has one class only ({names[next(iter(present))]!r}); "
            "a classifier needs at least two"
        )
    return TaskData(task.name, names, train, dev, test, dict(raw.origin), dict(raw.notes))
