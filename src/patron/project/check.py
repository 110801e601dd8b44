"""`Project.check`: every problem in a project, found before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.config import ProjectConfig
    from patron.ingest import SampleReport


@dataclass
class CheckResult:
    config: ProjectConfig | None  # None when patron.yml itself has problems
    problems: list[str]
    samples: list[SampleReport] = field(default_factory=list)


def check(config: str | Path = "patron.yml") -> CheckResult:
    """patron.yml's problems, the catalog section's and the sources' files', all together (a
    scratch warehouse reads the files' first rows: nothing is written anywhere)."""
    from patron.config import ConfigProblems, load_project
    from patron.ingest import check_sources
    from patron.warehouse import open_warehouse

    try:
        cfg = load_project(config)
    except ConfigProblems as e:
        return CheckResult(None, e.problems)
    from patron.config import declared_attributes
    from patron.metrics.evaluate import engine_problems
    from patron.metrics.spec import builtin_catalog, config_problems, with_overrides
    from patron.project.predict import config_problems as predict_problems

    attributes = declared_attributes(cfg)
    # the catalog's section: names, fields, expressions
    problems = config_problems(cfg.metrics, attributes=attributes)
    with open_warehouse(None) as scratch:
        if not problems and cfg.metrics:  # what patron.yml defined, and every formula over it, bound by the engine
            catalog = with_overrides(builtin_catalog(), cfg.metrics, attributes=attributes)
            problems = engine_problems(scratch, catalog, [n for n, s in catalog.items()
                                                          if n in cfg.metrics or s.kind == "formula"])
        source_problems, samples = check_sources(scratch, cfg)
        # the plays: fields, types, and what the engine makes of each condition
        from patron.act.rules import configured_attributes
        from patron.act.rules import engine_problems as play_engine_problems
        from patron.act.rules import problems as play_problems

        typed = configured_attributes(cfg)
        problems += play_problems(cfg.plays, typed) + play_engine_problems(scratch, cfg.plays, typed)
    # the predict section names attributes: does some source keep them?
    return CheckResult(cfg, problems + predict_problems(cfg) + source_problems, samples)
