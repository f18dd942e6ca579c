"""Random search as config and expected validation performance (issue 26's first parts): draws that depend only
on (study, arm, trial, key), and the expected-maximum estimator against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from embedlab.core.checks import check
from embedlab.core.config import compose
from embedlab.core.search import draw_value
from embedlab.studies.tuning import budget_verdict, evp_table, expected_max, verdict_sentence
from helpers import run_cli


def test_expected_max_equals_brute_force_over_every_sequence_of_draws():
    scores = [0.71, 0.74, 0.74, 0.80, 0.69]
    for budget in (1, 2, 3, 4):
        maxima = [max(seq) for seq in itertools.product(scores, repeat=budget)]
        mean, std = expected_max(scores, budget)
        assert mean == pytest.approx(np.mean(maxima)) and std == pytest.approx(np.std(maxima))
    assert expected_max(scores, 1)[0] == pytest.approx(np.mean(scores))
    assert expected_max(scores, 500)[0] == pytest.approx(max(scores), abs=1e-9)


def test_draws_depend_only_on_study_arm_trial_and_key():
    args = (0.0002, 0.005)
    first = draw_value("loguniform", args, "s", "sst2|glove6b|finetune|cnn", 3, "trainer.learning_rate")
    assert first == draw_value("loguniform", args, "s", "sst2|glove6b|finetune|cnn", 3, "trainer.learning_rate")
    others = {
        draw_value("loguniform", args, "s", "sst2|glove6b|finetune|cnn", 4, "trainer.learning_rate"),
        draw_value("loguniform", args, "s", "sst2|scratch|scratch|cnn", 3, "trainer.learning_rate"),
        draw_value("loguniform", args, "t", "sst2|glove6b|finetune|cnn", 3, "trainer.learning_rate"),
        draw_value("loguniform", args, "s", "sst2|glove6b|finetune|cnn", 3, "model.dropout"),
    }
    assert first not in others and len(others) == 4
    values = [draw_value("loguniform", args, "s", "a", t, "k") for t in range(2000)]
    assert 0.0002 <= min(values) and max(values) <= 0.005
    logs = np.log(values)  # log-uniform: the log's mean is the middle of the log range
    assert abs(logs.mean() - np.mean(np.log(args))) < 0.05
    assert {draw_value("choice", (25, 50, 100), "s", "a", t, "b") for t in range(60)} == {25, 50, 100}


def test_a_search_space_composes_to_numbers_and_gives_each_arm_only_its_own_knobs():
    scratch = compose(["+search=cnn", "trial=2", "+arm=scratch"])
    glove = compose(["+search=cnn", "trial=2", "+arm=glove6b_finetune"])
    check(scratch)
    check(glove)
    assert scratch.seed == 2 and isinstance(scratch.trainer.learning_rate, float)
    assert scratch.embedding.scale_std is None and scratch.embedding.init_limit != 0.05
    assert glove.embedding.scale_std is not None and glove.embedding.init_limit == 0.05
    again = compose(["+search=cnn", "trial=2", "+arm=scratch"])
    for node in ("trainer", "model", "embedding"):
        assert OmegaConf.to_container(again[node], resolve=True) == OmegaConf.to_container(scratch[node], resolve=True)
    with pytest.raises(Exception, match="give the trial number"):
        OmegaConf.to_container(compose(["+search=cnn"]).trainer, resolve=True)


def trials_frame(curves: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for (embedding, mode), scores in ((k.split("/"), v) for k, v in curves.items()):
        for trial, score in enumerate(scores, 1):
            rows.append(
                {
                    "status": "completed",
                    "task": "sst2",
                    "model": "cnn",
                    "embedding": embedding,
                    "mode": mode,
                    "config.trial": trial,
                    "dev_accuracy_best": score,
                    "run_dir": f"runs/{embedding}-{mode}-{trial}",
                }
            )
    return pd.DataFrame(rows)


def test_evp_table_and_the_verdict_across_budgets():
    frame = trials_frame({"scratch/scratch": [0.78, 0.79, 0.80, 0.77], "glove6b/finetune": [0.70, 0.72, 0.81, 0.83]})
    evp = evp_table(frame)
    assert set(evp["budget"]) == {1, 2, 3, 4} and (evp["trials"] == 4).all()
    glove = evp[evp["embedding"] == "glove6b"].set_index("budget")["expected_max"]
    assert glove.is_monotonic_increasing
    k, word = budget_verdict(evp, {"embedding": "glove6b"}, {"embedding": "scratch"})
    assert word == "leads" and 1 < k <= 4  # behind at budget 1 (mean 0.765 < 0.785), ahead at 4
    assert "from budget" in verdict_sentence("GloVe", "scratch", k, word, 4)


def test_a_study_of_trials_gets_evp_csv_and_a_report_section_naming_budgets(tmp_path):
    import json

    from embedlab.studies.report import sections
    from embedlab.studies.results import build, collect

    curves = {"scratch/scratch": [0.78, 0.79, 0.80, 0.77], "glove6b/finetune": [0.70, 0.72, 0.81, 0.83]}
    for record in trials_frame(curves).to_dict("records"):
        folder = tmp_path / record["run_dir"]
        folder.mkdir(parents=True)
        metrics = {k: record[k] for k in ("status", "task", "model", "embedding", "mode", "dev_accuracy_best")}
        metrics.update(seed=record["config.trial"], test_accuracy=0.5, n_train=100, n_dev=20, n_test=20)
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "config.yaml").write_text(f"seed: {record['config.trial']}\ntrial: {record['config.trial']}\n")
    frame = collect(tmp_path)
    written = build(tmp_path, tmp_path, frame)
    assert "evp.csv" in written and len(pd.read_csv(written["evp.csv"])) == 8
    part = next(p for p in sections(frame, tmp_path, tmp_path / "out") if p.title.startswith("Tuning budget"))
    assert "CNN, GloVe 6B 100d, fine-tuned leads CNN, scratch Embedding from budget 2 on" in part.text
    assert [f.name for f in part.figures] == ["budget.png"] and part.figures[0].stat().st_size > 0


def test_the_answer_of_a_tuned_study_states_budgets_cost_and_the_untuned_verdict_apart(tmp_path):
    """Untuned reference runs share their arm's seeds but never its cells: the tuned verdict is computed from the
    tuned runs only, and the untuned one is a labelled paragraph of its own."""
    import json

    from embedlab.studies.report import sections
    from embedlab.studies.results import collect, tested, untuned_runs

    tuned = {"scratch": [0.80, 0.81, 0.80], "glove6b": [0.84, 0.85, 0.84]}
    untuned = {"scratch": [0.80, 0.81, 0.80], "glove6b": [0.70, 0.71, 0.70]}  # untuned: far behind
    records = [
        (f"trials/{e}_t{t}", {"trial": t, "dev_accuracy_best": 0.7 + 0.01 * t + (0.05 if e == "glove6b" else 0)}, t)
        for e in tuned
        for t in range(1, 5)
    ]
    for kind, table in (("runs", tuned), ("untuned", untuned)):
        for e, scores in table.items():
            for seed, score in enumerate(scores, 1):
                extra = {"test_accuracy": score, **({"untuned": True} if kind == "untuned" else {})}
                records.append((f"{kind}/{e}_s{seed}", extra, seed))
    for path, extra, seed in records:
        e = path.split("/")[1].split("_")[0]
        folder = tmp_path / path
        folder.mkdir(parents=True)
        metrics = {"status": "completed", "task": "sst2", "model": "cnn", "embedding": e, "seed": seed}
        metrics.update(mode="scratch" if e == "scratch" else "finetune", wall_seconds=60, n_train=9, n_dev=3, n_test=3)
        (folder / "metrics.json").write_text(json.dumps({**metrics, **extra}))
        (folder / "config.yaml").write_text(
            f"seed: {seed}\n" + (f"trial: {extra['trial']}\n" if "trial" in extra else "")
        )
    frame = collect(tmp_path)
    assert len(tested(frame)) == 6 and len(untuned_runs(frame)) == 6
    assert tested(frame).groupby("embedding")["test_accuracy"].mean()["glove6b"] > 0.84
    answer = next(p for p in sections(frame, tmp_path, tmp_path / "out") if p.title == "The answer").text
    tuned_part, untuned_part = answer.split("**Untuned**")
    assert tuned_part.startswith("**Tuned** (each arm's best of 4 random-search trials")
    assert "+4.0 points" in tuned_part and "-10.0 points" in untuned_part
    assert "leads CNN, scratch Embedding at every budget (1 to 4)" in tuned_part
    assert "Tuning cost, run-minutes per arm: CNN, GloVe 6B 100d, fine-tuned on SST-2" in tuned_part
    assert "4.0 (4 trials) + 3.0 testing" in tuned_part


def reviews(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    words = {0: ["bad", "dull", "awful"], 1: ["good", "great", "fine"]}
    texts = [" ".join([*rng.choice(words[y], 2), "film", str(rng.integers(9))]) for y in labels]
    return pd.DataFrame({"text": texts, "label": np.where(labels == 1, "pos", "neg")})


@pytest.mark.parametrize("model", [["model=avg", "+search=cnn"], ["model=tfidf_lr", "+search=tfidf_lr"]])
def test_a_trial_never_reads_the_test_labels(isolated_env, tmp_path, model):
    """The same trial with the test split's labels flipped gives the same record: selection is on dev only."""
    import json

    reviews(200, 0).to_csv(tmp_path / "train.csv", index=False)
    test = reviews(60, 1)
    test.to_csv(tmp_path / "test.csv", index=False)
    poisoned = test.assign(label=np.where(test["label"] == "pos", "neg", "pos"))
    poisoned.to_csv(tmp_path / "poisoned.csv", index=False)
    records = []
    for name in ("test.csv", "poisoned.csv"):
        run_dir = tmp_path / f"run-{name}"
        args = ["task=table", f"task.train_path={tmp_path / 'train.csv'}", f"task.test_path={tmp_path / name}"]
        args += [*model, "trial=2", "trainer.epochs=2", "tracking.mlflow=false", f"hydra.run.dir={run_dir}"]
        proc = run_cli(args, isolated_env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        record = json.loads((run_dir / "metrics.json").read_text())
        assert record["trial"] == 2 and not [k for k in record if k.startswith("test_")]
        assert not (run_dir / "predictions.csv").exists()
        timing = ("seconds", "per_second", "memory_mb", "pid", "host")
        records.append({k: v for k, v in record.items() if not k.endswith(timing)})
    assert records[0] == records[1]


def test_phase_two_takes_every_draw_from_the_arms_best_trial(tmp_path):
    import json

    import yaml

    from embedlab.core.search import best_trial_config

    for trial, dev, lr in ((1, 0.80, 0.001), (2, 0.83, 0.002), (3, 0.83, 0.004), (4, 0.90, 0.003)):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        embedding = "glove6b" if trial == 4 else "scratch"  # another arm's better trial is not this arm's
        metrics = {"status": "completed", "task": "sst2", "embedding": embedding, "mode": embedding, "model": "cnn"}
        (folder / "metrics.json").write_text(json.dumps({**metrics, "trial": trial, "dev_accuracy_best": dev}))
        config = {"trainer": {"learning_rate": lr, "batch_size": 25}, "model": {"dropout": 0.2 * trial}}
        config["embedding"] = {"init_limit": 0.1, "scale_std": None}
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    best_trial_config.cache_clear()
    cfg = compose(["task=sst2", "+search=cnn", f"tuned_from={tmp_path}", "seed=1", "+arm=scratch"])
    assert cfg.trainer.learning_rate == 0.002  # trials 2 and 3 tie on dev: the lower trial number
    assert cfg.model.dropout == pytest.approx(0.4) and cfg.trainer.batch_size == 25 and cfg.seed == 1
    with pytest.raises(Exception, match="holds no completed trial"):
        OmegaConf.to_container(
            compose(["+search=cnn", f"tuned_from={tmp_path}", "seed=1", "+arm=glove6b_frozen"]).trainer, resolve=True
        )


def test_tune_plans_trials_then_test_runs_per_model_family():
    from embedlab.core.errors import EmbedlabError
    from embedlab.studies.tune import plan

    args = ["experiment=tuned", "task=sst2", "+arm=scratch,glove6b_finetune,baseline_tfidf_lr,baseline_majority"]
    sweeps = plan(args, budget=20, seeds=3)
    trials = [s for s in sweeps if "trial=range(1,21)" in s]
    tests = [s for s in sweeps if "seed=range(1,4)" in s and "untuned=true" not in s]
    untuned = [s for s in sweeps if "untuned=true" in s]
    assert len(trials) == 2 and len(tests) == 3 and sweeps[: len(trials)] == trials  # every trial before any test
    assert sweeps[-len(untuned) :] == untuned and len(untuned) == 2  # the searched groups at their own point, last
    assert all("seed=range(1,4)" in s and not any(o.startswith(("+search", "tuned_from")) for o in s) for s in untuned)
    assert ["+arm=scratch,glove6b_finetune", "+search=cnn"] == trials[0][2:4]
    assert any(
        "+arm=baseline_majority" in s and not any(o.startswith(("+search", "tuned_from")) for o in s) for s in tests
    )
    assert all(any(o.startswith("tuned_from=") for o in s) for s in tests if "+arm=baseline_majority" not in s)
    with pytest.raises(EmbedlabError, match="needs the arms"):
        plan(["experiment=tuned"], 20, 3)
    with pytest.raises(EmbedlabError, match="at least 1"):
        plan(args, 0, 3)


@pytest.mark.slow
def test_scaling_every_pretrained_vector_by_3_5_changes_no_tuned_verdict(isolated_env, tmp_path):
    """The row scale is a knob every pretrained arm tunes (draw_pretrained): vectors x 3.5 give the same trials'
    dev accuracies (to within one dev sentence: float rounding) and the same verdict across budgets."""
    import subprocess
    import sys

    from embedlab.data.datasets import load_gensim_polarity

    texts = load_gensim_polarity().splits["all"][0]
    words = sorted({w for t in texts for w in t.lower().split()})
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 0.4, size=(len(words), 16)).astype(np.float32)
    verdicts, devs = [], []
    for factor in (1.0, 3.5):
        path = tmp_path / f"vectors_x{factor}.txt"
        path.write_text(
            "".join(
                f"{w} {' '.join(f'{v:.6f}' for v in row * factor)}\n" for w, row in zip(words, vectors, strict=True)
            )
        )
        env = {**isolated_env, "EMBEDLAB_RESULTS_DIR": str(tmp_path / f"results{factor}")}
        args = ["experiment=tuned", "task=smoke", "trainer.epochs=3", "analysis.enabled=false", "tracking.mlflow=false"]
        args += [f"embedding.path={path}", "+arm=scratch,file_finetune"]
        proc = subprocess.run(
            [sys.executable, "-m", "embedlab.cli", "tune", *args, "--budget", "3", "--seeds", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        from embedlab.studies.results import collect

        frame = collect(tmp_path / f"results{factor}" / "tuned")
        evp = evp_table(frame)
        verdicts.append(budget_verdict(evp, {"embedding": "file"}, {"embedding": "scratch"}))
        trials = frame[frame["config.trial"].notna() & (frame["embedding"] == "file")].sort_values("config.trial")
        devs.append(trials["dev_accuracy_best"].to_numpy())
    assert verdicts[0] == verdicts[1]
    assert len(devs[0]) == 3 and np.allclose(devs[0], devs[1], atol=1 / 15 + 1e-9)  # the smoke dev split: 15
