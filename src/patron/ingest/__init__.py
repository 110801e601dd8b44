"""Map, validate and load source files into the canonical tables; quarantine what is bad."""

from patron.ingest.load import FileLoad, IngestResult, check_sources, ingest_file, ingest_sources

__all__ = ["FileLoad", "IngestResult", "check_sources", "ingest_file", "ingest_sources"]
