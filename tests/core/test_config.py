"""The real configs compose for every task x embedding x model, and presets and arms resolve."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from embedlab.core.config import CONFIG_DIR, EXPERIMENTS_DIR, compose

TASKS = sorted(p.stem for p in (CONFIG_DIR / "task").glob("*.yaml"))
EMBEDDINGS = sorted(p.stem for p in (CONFIG_DIR / "embedding").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (EXPERIMENTS_DIR / "experiment").glob("*.yaml"))


def test_the_groups_hold_what_the_issue_names():
    assert {"sst2", "sst1", "mr", "subj", "trec", "mpqa", "imdb", "clickbait", "table", "smoke"} <= set(TASKS)
    assert {"scratch", "glove6b", "file", "word2vec", "glove", "fasttext"} <= set(EMBEDDINGS)
    assert {"avg", "cnn", "bilstm"} <= set(MODELS)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("embedding", EMBEDDINGS)
@pytest.mark.parametrize("model", MODELS)
def test_every_combination_composes_and_resolves(task, embedding, model):
    cfg = compose([f"task={task}", f"embedding={embedding}", f"model={model}"], return_hydra_config=True)
    assert (cfg.task.name, cfg.embedding.name, cfg.model.name) == (task, embedding, model)
    if cfg.embedding.source == "pretrained":
        assert cfg.pretrain.algorithm == embedding and cfg.embedding.dim == cfg.pretrain.dim
    resolved = OmegaConf.to_container(cfg.task, resolve=True)
    assert {"tokenizer", "vocab", "loader", "probe_words"} <= set(resolved)
    assert cfg.paths.data_dir and cfg.paths.cache_dir


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_presets_are_found_through_the_search_path(experiment):
    assert compose([f"experiment={experiment}"]).task.name


@pytest.mark.parametrize(
    ("arm", "source", "mode"),
    [
        ("scratch", "scratch", "scratch"),
        ("glove6b_frozen", "glove6b", "frozen"),
        ("glove6b_finetune", "glove6b", "finetune"),
        *[(f"{a}_{m}", "pretrained", m) for a in ("word2vec", "glove", "fasttext") for m in ("frozen", "finetune")],
    ],
)
def test_arms_pair_source_and_mode(arm, source, mode):
    cfg = compose([f"+arm={arm}"])
    assert (cfg.embedding.source, cfg.embedding.mode) == (source, mode)
    if source == "pretrained":
        assert cfg.pretrain.algorithm == arm.split("_")[0]


def test_unknown_task_fails_at_composition():
    with pytest.raises(MissingConfigException, match="task/nosuchtask"):
        compose(["task=nosuchtask"])


def test_misspelt_key_fails_at_composition():
    with pytest.raises(ConfigCompositionException, match="epocs"):
        compose(["trainer.epocs=3"])


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDLAB_DATA_DIR", str(tmp_path))
    assert compose([]).paths.data_dir == str(tmp_path)


def test_the_defaults_live_in_the_schema_only():
    """Task files set what makes them that task; the keys every task shares come from the Task schema."""
    import yaml

    shared = {"split_seed", "dev_fraction", "train_size", "sample_seed", "len_percentile"}
    for task in TASKS:
        written = yaml.safe_load((CONFIG_DIR / "task" / f"{task}.yaml").read_text())
        assert not shared & set(written), task
        assert compose([f"task={task}"]).task.split_seed == 0
    code = "\n".join(p.read_text() for p in (CONFIG_DIR.parent).rglob("*.py"))
    for group in ("cfg", "acfg", "task_cfg", "projection"):
        assert f'{group}.get("' not in code  # no default repeated in code


def test_a_run_stored_before_a_key_existed_is_the_same_config():
    """Resume: a key added to the schema later counts as its default in a run stored before it existed."""
    from embedlab.core.rundir import same_config

    now = OmegaConf.to_container(compose(["experiment=smoke"]), resolve=False)
    before = {**now, "embedding": {k: v for k, v in now["embedding"].items() if k not in ("oov_init", "format")}}
    assert same_config(before, now)
    changed = {**now, "embedding": {**now["embedding"], "oov_init": "zeros"}}
    assert not same_config(before, changed)  # the stored run used the default, this one does not
    assert not same_config(now, before)  # a key this config lacks is a different config
    assert not same_config(now, {**now, "seed": now["seed"] + 1})


def test_a_stage_gets_the_schemas_dataclasses_and_none_outside_its_ranges():
    """typed() hands the stages dataclass instances (Enum choices, resolved values); a range lives on its field,
    so the composed-config check and the dataclass refuse the same value with the same line."""
    from embedlab.core.checks import check
    from embedlab.core.choices import Mode, Optimizer
    from embedlab.core.config import typed
    from embedlab.core.errors import EmbedlabError
    from embedlab.core.schema import Cnn, Embedding, Trainer, Word2VecPretrain, ranges

    cfg = compose(["model=cnn", "embedding=glove6b", "embedding.mode=finetune", "trainer.optimizer=adadelta"])
    model, embedding, trainer = typed(cfg.model), typed(cfg.embedding), typed(cfg.trainer)
    assert isinstance(model, Cnn) and model.filter_widths == [3, 4, 5]
    assert isinstance(embedding, Embedding) and embedding.mode is Mode.finetune and embedding.mode == "finetune"
    assert isinstance(trainer, Trainer) and trainer.optimizer is Optimizer.adadelta
    assert {"trainer.epochs", "model.dropout", "pretrain.dim", "seed", "analysis.neighbours_k"} <= set(ranges())
    for made, line in (
        (lambda: Trainer(epochs=0), "trainer.epochs=0 must be at least 1"),
        (lambda: Cnn(name="cnn", dropout=1.5), "model.dropout=1.5 must be between 0 and 0.99"),
        (lambda: Word2VecPretrain(algorithm="word2vec", dim=0), "pretrain.dim=0 must be at least 1"),
        (lambda: typed(compose(["pretrain=word2vec", "pretrain.workers=0"]).pretrain), "pretrain.workers=0 must be"),
    ):
        with pytest.raises(EmbedlabError, match=line):
            made()
    with pytest.raises(EmbedlabError, match="trainer.epochs=0 must be at least 1"):
        check(compose(["trainer.epochs=0"]))  # the same range, before any data is read
