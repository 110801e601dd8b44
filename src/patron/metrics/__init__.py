"""The metric catalog: specs as data, compiled to SQL for any engine, evaluated with honest statistics."""

from patron.metrics.compile import compile_group, compile_metric, render
from patron.metrics.evaluate import evaluate, evaluate_catalog
from patron.metrics.spec import MetricSpec, builtin_catalog, with_overrides

__all__ = ["MetricSpec", "builtin_catalog", "compile_group", "compile_metric", "evaluate", "evaluate_catalog", "render",
           "with_overrides"]
