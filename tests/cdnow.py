"""CDNOW, the data Fader, Hardie and Lee fitted BG/NBD to: fetched when first needed, never kept in
the repository.

Their 1/10th sample (2,357 customers who first bought in the first quarter of 1997, and every
purchase they made to the end of June 1998) ships inside the `lifetimes` wheel on PyPI. The
wheel is downloaded once into `.cache/cdnow/`, checked against its known hash, and the file is
read out of it; without a network the callers skip.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "cdnow"
WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
MEMBER = "lifetimes/datasets/CDNOW_sample.txt"


class Unavailable(Exception):
    """The wheel cannot be had here (no network, no pip): a reason to skip, not a failure."""


def wheel() -> Path:
    """The lifetimes wheel, downloaded on first use."""
    path = CACHE / WHEEL
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            try:
                r = subprocess.run([sys.executable, "-m", "pip", "download", "lifetimes==0.11.3", "--no-deps",
                                    "--only-binary", ":all:", "--disable-pip-version-check", "--quiet",
                                    "--retries", "1", "--timeout", "20", "-d", tmp],
                                   capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise Unavailable(f"CDNOW: could not run pip to fetch the lifetimes wheel ({e})") from e
            got = Path(tmp) / WHEEL
            if r.returncode != 0 or not got.exists():
                tail = (r.stderr.strip().splitlines() or ["no message"])[-1]
                raise Unavailable(f"CDNOW: could not download the lifetimes wheel from PyPI ({tail})")
            shutil.move(got, path)  # whole or not at all: a second process finds a complete file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{path}: sha256 {digest} is not the published wheel's {SHA256}; delete it and rerun")
    return path


def transactions() -> pd.DataFrame:
    """customer, date (YYYYMMDD as an integer), cds, dollars: one row per purchase record."""
    with zipfile.ZipFile(wheel()) as z:
        text = z.read(MEMBER).decode("ascii")
    # customer id in the full data set, customer id in the sample (1..2357), date, CDs, dollars
    df = pd.read_csv(io.StringIO(text), sep=r"\s+", header=None,
                     names=["master_id", "customer", "date", "cds", "dollars"])
    return df.drop(columns="master_id")


def write_orders_csv(path: Path) -> Path:
    """The export step a customer would do: whitespace-separated columns to a CSV, with an order
    id per line (the file has none; a customer may buy twice in one day)."""
    df = transactions()
    df.insert(0, "order_id", [f"cd{i}" for i in range(1, len(df) + 1)])
    df.to_csv(path, index=False)
    return path
