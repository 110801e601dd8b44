"""The seeded demo company with planted truth: the same code drives the demo, tests and benchmarks."""

from patron.demo.generate import GenerateResult, generate

__all__ = ["GenerateResult", "generate"]
