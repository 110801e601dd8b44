"""Map, validate and load source files into the canonical tables; quarantine what is bad."""

from patron.ingest.check import SampleReport, check_sources
from patron.ingest.load import FileLoad, IngestResult, Refusal, ingest_file, ingest_sources

__all__ = ["FileLoad", "IngestResult", "Refusal", "SampleReport", "check_sources", "ingest_file", "ingest_sources"]
