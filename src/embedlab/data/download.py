"""Fetch a canonical data file into the data directory, atomically and with progress."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from embedlab.core.errors import EmbedlabError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30


def fetch(url: str, dest: Path) -> Path:
    """Download url to dest via a temporary name, so an interrupted download never looks complete."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbedlabError(f"cannot create {dest.parent} to download {url}: {exc.strerror}") from None
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    log.info("downloading %s -> %s", url, dest)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(tmp, "wb") as out,
                tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=None) as bar,
            ):
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise EmbedlabError(
            f"{dest.name} is missing and could not be downloaded from {url} ({reason}); "
            f"download it on a connected machine and put it at {dest} "
            "(or point EMBEDLAB_DATA_DIR / paths.data_dir at a folder that has it)"
        ) from None
    return dest


def ensure(url: str, dest: Path) -> Path:
    """Return dest, downloading it from its canonical url first if it is not there."""
    return dest if Path(dest).exists() else fetch(url, Path(dest))
