"""Resolve every source's customer ids to master customers: rules, then Splink, then stable ids."""

from patron.identity.resolve import ResolveResult, resolve

__all__ = ["ResolveResult", "resolve"]
