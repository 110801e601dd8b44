"""Customer attributes as model features: one typed column per attribute, from the shared
CURRENT_ATTRIBUTES relation; a personal attribute is never one (it is left out here, whatever
asks for it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from patron.relations import CURRENT_ATTRIBUTES

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

MAX_LEVELS = 50  # a text attribute with more values (an id, a free note) says nothing a model can learn


def wide(wh: Warehouse) -> tuple[pd.DataFrame, dict[str, str], set[str]]:
    """(customer x attribute frame of the non-personal ones, each attribute's type, the personal
    attributes' names). Yes/no attributes are 0/1, numbers floats, texts strings."""
    long = wh.df(f"SELECT * FROM ({CURRENT_ATTRIBUTES}) AS a")
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="customer")), {}, set()
    kinds = long.drop_duplicates("name").set_index("name")["type"].to_dict()
    personal = set(long.loc[long["personal"].astype(bool), "name"])
    columns = {}
    for name, part in long.groupby("name"):
        if name in personal:
            continue
        part = part.set_index("customer")
        kind = kinds[name]
        columns[name] = (part["flag"].astype(float) if kind == "bool" else part["number"].astype(float)
                         if kind in ("int", "float") else part["value"].astype("string"))
    return pd.DataFrame(columns).rename_axis("customer"), kinds, personal


def learnable(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """The attributes a model can learn from: more than one value, and a text few enough."""
    return [c for c in names if c in frame and frame[c].nunique(dropna=True) > 1
            and (pd.api.types.is_numeric_dtype(frame[c]) or frame[c].nunique() <= MAX_LEVELS)]
