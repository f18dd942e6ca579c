"""report.html in a real browser (Debian's Chromium through Playwright): fits 1,280 px, sorts, browses neighbours.

CI installs Chromium (.ci/run) and sets EMBEDLAB_REQUIRE_BROWSER=1, so there this test fails rather than skips when
the browser is missing.
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab.studies.report import write_report
from embedlab.studies.results import collect
from helpers import reported_run

WORDS = ["<pad>", "<unk>", "good", "great", "fine", "bad", "awful", "poor", "film", "movie", "plot", "the"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("EMBEDLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if os.environ.get("EMBEDLAB_REQUIRE_BROWSER") != "1":
        pytest.importorskip("playwright")
    return path


def space(seed: int) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(4)
    base = {"good": [1, 0, 0, 0], "bad": [-1, 0, 0, 0], "film": [0, 1, 0, 0]}
    vectors = [np.array(base.get(w, rng.normal(size=4)), float) + 0.1 * rng.normal(size=4) for w in WORDS]
    kv.add_vectors(WORDS, np.array(vectors, dtype=np.float32))
    return kv


def small_study(root):
    rng = np.random.default_rng(0)
    for i, (embedding, mode) in enumerate([("scratch", "scratch"), ("glove6b", "finetune"), ("glove6b", "frozen")]):
        for seed in (1, 2, 3):
            run = reported_run(
                root,
                f"{embedding}-{mode}-{seed}",
                embedding,
                mode,
                seed,
                0.80 + 0.01 * i + 0.001 * seed,
                correct=rng.random(100) < 0.8 + 0.01 * i,
            )
            space(seed + 10 * i).save_word2vec_format(str(run / "embedding_trained.w2v.bin"), binary=True)
            space(10 * i).save_word2vec_format(str(run / "embedding_initial.w2v.bin"), binary=True)
            (run / "projector").mkdir()
            counts = list(range(len(WORDS), 0, -1))
            pd.DataFrame({"word": WORDS, "count": counts, "log_odds_0": 0.5, "log_odds_1": -0.5}).to_csv(
                run / "projector" / "metadata.tsv", sep="\t", index=False
            )
    return collect(root)


def test_report_in_chromium_fits_sorts_and_browses_neighbours(tmp_path):
    from playwright.sync_api import sync_playwright

    executable = chromium()
    frame = small_study(tmp_path / "study")
    written = write_report(tmp_path / "study", tmp_path / "out", frame, title="seed_question")
    page_file = written["report.html"]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            broken = "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
            assert page.evaluate(broken) == 0 and page.evaluate("document.images.length") >= 1
            answer = page.locator("h2", has_text="The answer")
            assert answer.is_visible()
            assert "points" in page.locator("h2#s1 + p").inner_text()

            table = page.locator("table.table").first
            header = table.locator("th", has_text="accuracy %")
            column = table.locator("th").all_inner_texts().index("accuracy %")
            rows = "Array.from(document.querySelector('table.table').tBodies[0].rows)"
            cells = f"{rows}.map(r => r.cells[{column}].innerText)"
            header.click()
            ascending = [float(v) for v in page.evaluate(cells)]
            header.click()
            descending = [float(v) for v in page.evaluate(cells)]
            assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)

            box = page.locator(".browser input").first
            assert box.input_value() == "good"  # a word every space holds, not the most frequent token
            assert "training count" in page.locator(".browser .answer").first.inner_text()
            cells = page.evaluate("Array.from(document.querySelectorAll('table.table td')).map(c => c.innerText)")
            numbers = [c for c in cells if re.fullmatch(r"[+-]?[\d,]*\.\d+", c.strip())]
            assert numbers and all(len(c.split(".")[1]) <= 2 or c.startswith("0.00") for c in numbers), numbers
            box.fill("good")
            shown = page.locator(".browser .answer").first
            assert "training count" in shown.inner_text()
            neighbours = shown.locator("td").all_inner_texts()
            assert "great" in neighbours or "fine" in neighbours or "film" in neighbours
            assert len(shown.locator("th").all_inner_texts()) == 1 + 4  # rank + 3 trained spaces + GloVe before
            box.fill("zzz")
            assert "not among the words" in shown.inner_text()
            assert errors == []
        finally:
            browser.close()


HOSTILE_WORDS = [
    "<img/src/onerror=document.title='pwned'>",
    "</script><script>document.title='pwned2'</script>",
    '"><svg/onload=alert(1)>',
    "&lt;b&gt;",
]
HOSTILE_NAME = "<img src onerror=alert(42)>"


def hostile_study(root):
    """Runs whose training words and source names are HTML that would run script if written into the page raw."""
    words = [*WORDS, *HOSTILE_WORDS]
    rng = np.random.default_rng(1)
    for i, (embedding, mode) in enumerate([("scratch", "scratch"), (HOSTILE_NAME, "finetune")]):
        for seed in (1, 2):
            run = reported_run(root, f"r{i}-{seed}", embedding, mode, seed, 0.8 + 0.01 * i, rng.random(50) < 0.8)
            for name in ("trained", "initial"):
                kv = KeyedVectors(4)
                kv.add_vectors(words, rng.normal(size=(len(words), 4)).astype(np.float32))
                kv.save_word2vec_format(str(run / f"embedding_{name}.w2v.bin"), binary=True)
            (run / "projector").mkdir()
            pd.DataFrame({"word": words, "count": range(len(words), 0, -1), "log_odds_0": 0.1}).to_csv(
                run / "projector" / "metadata.tsv", sep="\t", index=False
            )
    return collect(root)


def test_hostile_words_and_names_run_no_script_in_the_page(tmp_path):
    from playwright.sync_api import sync_playwright

    executable = chromium()
    frame = hostile_study(tmp_path / "study")
    title = "<img src=x onerror=alert('title')>"
    written = write_report(tmp_path / "study", tmp_path / "out", frame, title=title)
    text = written["report.html"].read_text()
    assert "Content-Security-Policy" in text and "<img src onerror" not in text and "<img/src" not in text
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(written["report.html"].as_uri())
            page.wait_for_load_state("load")
            opened_title = page.title()
            box = page.locator(".browser input").first
            shown = page.locator(".browser .answer").first
            for word in HOSTILE_WORDS:
                box.fill(word)
                assert word in shown.inner_text()  # shown as text, as typed
            headers = shown.locator("th").all_inner_texts()
            assert any(HOSTILE_NAME in h for h in headers)  # the source's name, as text
            page.wait_for_timeout(300)
            assert dialogs == []
            assert page.title() == opened_title and "pwned" not in opened_title
            assert "pwned" not in page.evaluate("document.title")
            # no element the data made: every <img> is a figure, no <svg>, no <script> beyond the page's two kinds
            assert page.evaluate("Array.from(document.images).every(i => i.src.startsWith('data:image/png'))")
            assert page.evaluate("document.querySelectorAll('svg').length") == 0
            assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 1
        finally:
            browser.close()
