"""One error tree. Every error says where the problem is, so the CLI can print one line."""

from __future__ import annotations


class PatronError(Exception):
    """Base of every error patron raises on purpose; the CLI prints it as one line."""


class ConfigError(PatronError):
    """A problem in patron.yml: names the file and the key."""

    def __init__(self, message: str, file: str | None = None, key: str | None = None):
        self.file, self.key = file, key
        where = ": ".join(p for p in (file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(PatronError):
    """A problem with an input file: names the file and, where known, the row and field."""

    def __init__(self, message: str, file: str, row: int | None = None, field: str | None = None):
        self.file, self.row, self.field = file, row, field
        where = file + (f", row {row}" if row is not None else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


class MetricError(PatronError):
    """A metric cannot be evaluated as asked: names the metric."""

    def __init__(self, message: str, metric: str):
        self.metric = metric
        super().__init__(f"metric {metric}: {message}")


class WarehouseError(PatronError):
    """The warehouse file cannot be opened, is not patron's, or is of a schema this version cannot read."""


class QueryFailed(PatronError):
    """The engine refused a statement; carries the engine's own message."""


class PredictError(PatronError):
    """A model cannot be fitted or scored as asked: names the model and what the data lacks."""

    def __init__(self, message: str, model: str):
        self.model = model
        super().__init__(f"{model}: {message}")


class ActionError(PatronError):
    """A play or an action item cannot be run or changed as asked: names the play or the item."""

    def __init__(self, message: str, what: str):
        self.what = what
        super().__init__(f"{what}: {message}")
