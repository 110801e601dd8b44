"""Apache Spark, for a warehouse that outgrows one machine: the same tables, as Parquet under a path
Spark reads (a local folder, HDFS, S3...), and the same SQL, transpiled from DuckDB's dialect by
SQLGlot before Spark runs it.

A Parquet file is never changed in place: DELETE, UPDATE and CREATE OR REPLACE write the
table's new rows and put them in the old ones' place (spark_tables.py). Spark has no
transactions: `BEGIN`/`COMMIT` group nothing. What has no form here (ALTER other than a rename,
MERGE, a sequence, a construct SQLGlot cannot carry into Spark's dialect) is refused by name before
Spark sees it. Files to load are parsed by DuckDB's reader and numbered (spark_files.py).
pyspark is an optional extra (`pip install "patron[spark]"`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot.errors import ErrorLevel, SqlglotError

from patron.errors import QueryFailed, WarehouseError
from patron.warehouse.engines.base import FILE_ROW

if TYPE_CHECKING:
    import pandas as pd

INSTALL = 'pip install "patron[spark]" (pyspark, and Java 17 on the machine)'
# statements a Spark warehouse of Parquet tables has no form of
_REFUSED = re.compile(r"^\s*(MERGE|ALTER|CREATE\s+SEQUENCE)\b", re.IGNORECASE)
# renaming a table moves its folder: nothing is rewritten
_RENAME = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_NO_TX = re.compile(r"^\s*(BEGIN(\s+TRANSACTION)?|COMMIT|ROLLBACK)\s*;?\s*$", re.IGNORECASE)


def session(master: str = "local[2]") -> Any:
    """The process's Spark session (one per process, as Spark allows), in UTC, without its web UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WarehouseError(f"the spark engine needs pyspark: {INSTALL}") from None
    local = master.startswith("local")
    if local:  # a machine's own address, not the one its name resolves to
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python work sent to the rows runs in this interpreter, where patron is installed (on a
        # cluster, the executors' Python needs patron installed too)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import logging

    # Spark's own messages, terminal-wide by default, are ours to say in one line
    logging.getLogger("SQLQueryContextLogger").disabled = True
    try:
        builder = (SparkSession.builder.master(master).appName("patron")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_quiet_log_config()}")
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.catalogImplementation", "in-memory")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.sql.shuffle.partitions", "8" if local else "200")
                   .config("spark.sql.ansi.enabled", "false")
                   # a row as JSON names every field, NULL ones too, as DuckDB's to_json does
                   .config("spark.sql.jsonGenerator.ignoreNullFields", "false")
                   # a text that is not a date in the format given is NULL, not an error
                   .config("spark.sql.legacy.timeParserPolicy", "CORRECTED"))
        if local:  # the driver does the work: half the machine, not Spark's 1 GB
            builder = builder.config("spark.driver.memory", f"{_half_memory_mb()}m")
        jar = _similarity_jar()
        if jar:  # Splink's string comparisons (Jaro-Winkler) as Spark functions, from its own jar
            builder = builder.config("spark.jars", jar)
        spark = builder.getOrCreate()
    except Exception as e:  # no Java, a master that does not answer: said in one line
        raise WarehouseError(f"cannot start Spark at {master} ({str(e).strip().splitlines()[0][:200]})") from None
    spark.sparkContext.setLogLevel("ERROR")
    if jar:  # DuckDB's name for it, which the stages' SQL uses (a customer found by a name near its own)
        from pyspark.sql.types import DoubleType

        for name in ("jaro_winkler_similarity", "jarowinkler_similarity"):  # as written, as SQLGlot writes it
            spark.udf.registerJavaFunction(name, "uk.gov.moj.dash.linkage.JaroWinklerSimilarity", DoubleType())
    return spark


_QUIET = """status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


def _half_memory_mb() -> int:
    try:
        return max(1024, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**21)
    except (ValueError, OSError, AttributeError):
        return 4096


def _similarity_jar() -> str | None:
    try:
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError:
        return None
    return similarity_jar_location()


def _quiet_log_config() -> str:
    """A log4j2 file that lets only Spark's errors through (its default prints start-up notes and
    warnings on every command)."""
    import tempfile

    # this user's own file, never followed through a link another user put in the shared folder
    path = Path(tempfile.gettempdir()) / f"patron-spark-log4j2-{os.getuid()}.properties"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    except OSError:  # a link, or a file someone else owns: a fresh file of our own instead
        fd, name = tempfile.mkstemp(prefix="patron-spark-log4j2-", suffix=".properties")
        path = Path(name)
    with os.fdopen(fd, "w") as f:
        f.write(_QUIET)
    return str(path)


# Spark's integer types, as the pandas types DuckDB gives a column of them that has gaps
_NULLABLE_INT = {"tinyint": "Int8", "smallint": "Int16", "int": "Int32", "bigint": "Int64"}


class _Result:
    """A statement's rows: read when asked (Spark plans lazily), as tuples or as a frame."""

    def __init__(self, frame: Any):
        self._frame = frame

    def fetchall(self) -> list[tuple]:
        return [] if self._frame is None else [tuple(r) for r in _guarded(self._frame.collect)]

    def df(self) -> pd.DataFrame:
        import pandas as pd

        if self._frame is None:
            return pd.DataFrame()
        frame = _guarded(self._frame.toPandas)
        # as DuckDB gives them, which every reader expects: a DATE column as datetime64 (Spark gives
        # Python dates), a DECIMAL one as float64 (Spark gives Decimal objects, which JSON writes as
        # text; `1.0 * n / m` is a decimal in Spark, a double in DuckDB)
        for name, kind in self._frame.dtypes:
            if name not in frame:
                continue
            if kind == "date":
                frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
            elif kind.startswith("decimal"):
                frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
            elif kind in _NULLABLE_INT and frame[name].dtype.kind == "f":  # whole numbers with gaps: not 5.0
                frame[name] = frame[name].astype(_NULLABLE_INT[kind])
        return frame


def _guarded(call: Any) -> Any:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        return call()
    except (PySparkException, Py4JJavaError) as e:
        raise QueryFailed(_first_line(e)) from e


def _first_line(e: Exception) -> str:
    """What went wrong, in one line: for Python work that failed beside the rows, the worker's own
    error (Spark's first line only says that a worker failed)."""
    text = str(e).strip()
    if not text:
        return type(e).__name__
    if "Python worker" in text.splitlines()[0]:
        errors = [line for line in text.splitlines() if re.match(r"^[A-Za-z_.]+(Error|Exception): ", line)]
        if errors:
            return f"Python work beside the rows failed: {errors[-1][:300]}"
    return text.splitlines()[0]


class SparkEngine:
    """A Spark session over one warehouse path. Open one with `SparkEngine.open`."""

    dialect = "spark"
    distributed = True
    transactional = False

    def __init__(self, spark: Any, root: str):
        from patron.warehouse.engines.spark_files import Files
        from patron.warehouse.engines.spark_tables import Tables

        self.spark = spark
        self.root = root.rstrip("/")
        self.tables = Tables(spark, self.root, self._spark_sql, self._frame_of)
        self.files = Files(spark, self.tables)
        self._last_load_id = 0

    @classmethod
    def open(cls, root: str | Path, master: str = "local[2]") -> SparkEngine:
        """The warehouse at `root` (one Parquet folder per table, as `patron export --engine spark`
        writes it), each table registered under its name."""
        from patron.model import SYSTEM_TABLES, TABLES

        engine = cls(session(master), str(root))
        try:
            for name in (*TABLES, *SYSTEM_TABLES):
                engine._register(name)
        except (QueryFailed, WarehouseError):
            raise
        except Exception as e:  # a scheme no file system serves, a folder Spark cannot read as Parquet
            raise WarehouseError(f"{root}: cannot read a warehouse there ({_java_line(e)})") from None
        return engine

    def _register(self, name: str) -> None:
        where = f"{self.root}/{name}"
        if _exists(self.spark, where):
            self.tables.register(name, where)
        else:  # the session's catalog may still name another warehouse's table (its files stay)
            self.spark.sql(f"DROP TABLE IF EXISTS {name}")

    def _parse(self, sql: str) -> Any:
        try:
            trees = sqlglot.parse(sql, read="duckdb")
        except SqlglotError as e:
            raise QueryFailed(f"Spark has no form of this: {_first_line(e)}") from None
        if len(trees) != 1 or trees[0] is None:
            raise QueryFailed("one statement at a time")
        return trees[0]

    def _spark_sql(self, tree: Any) -> str:
        try:
            return _unique_ctes(tree).transform(_exact_percentile).transform(_duckdb_functions).sql(
                dialect="spark", unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as e:
            raise QueryFailed(f"Spark has no form of this: {_first_line(e)}") from None

    def _frame_of(self, text: str, args: Sequence[Any] | dict | None) -> Any:
        return _guarded(lambda: self.spark.sql(text, args=args or None))

    def transpile(self, sql: str) -> str:
        """DuckDB's dialect, as the stages write it, in Spark's; a construct with no Spark form is
        refused by name."""
        return self._spark_sql(self._parse(sql))

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> _Result:
        from sqlglot import exp

        if _NO_TX.match(sql):
            return _Result(None)
        renamed = _RENAME.match(sql)
        if renamed:
            self.tables.rename(renamed.group(1), renamed.group(2))
            return _Result(None)
        self.files.saw(sql)
        found = _REFUSED.match(sql)
        if found:
            raise QueryFailed(f"the spark engine cannot run {found.group(1).upper()}: its Parquet tables are "
                              "written anew, never altered in place")
        args = list(params) if isinstance(params, Sequence) and not isinstance(params, str) else params
        tree, args = _bind(self._parse(sql), args)
        if isinstance(tree, exp.Delete):
            self.tables.delete(tree, args)
        elif isinstance(tree, exp.Update):
            self.tables.update(tree, args)
        elif isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            self.tables.create(tree, args)
        elif isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() == "TABLE":
            for table in tree.args.get("tables") or [tree.this]:
                self.tables.drop(table.name, bool(tree.args.get("exists")))
        else:
            text = self._spark_sql(tree)
            return _Result(_guarded(lambda: self.spark.sql(text, args=args or None)))
        return _Result(None)

    @contextmanager
    def frame(self, name: str, df: pd.DataFrame) -> Iterator[str]:
        df = df if len(df.columns) else df.assign(_empty=[])
        made = self.spark.createDataFrame(df) if len(df) else self.spark.createDataFrame([], _schema_of(df))
        made.createOrReplaceTempView(name)
        try:
            yield name
        finally:
            self.spark.catalog.dropTempView(name)

    def progress(self) -> float:
        return -1.0

    def forbid_file_access(self) -> None:
        """Spark reads files by design; configured SQL is held back by the allow-list alone
        (patron.expressions), which refuses every table function and subquery."""

    def cursor(self) -> SparkEngine:
        return self  # one session serves every thread

    def close(self) -> None:
        """The session stays for the process: starting Spark costs seconds."""

    def has_table(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def columns(self, name: str) -> list[str]:
        return list(self.spark.table(name).columns)

    def columns_of(self, sql: str) -> list[str]:
        text = self.transpile(sql)
        return list(_guarded(lambda: self.spark.sql(text).columns))

    def read_file(self, file: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = None,
                  max_line_size: int | None = None, keep_rejects: bool = False) -> str:
        """The file's rows and FILE_ROW, parsed by DuckDB's reader (see spark_files.py); a CSV's
        unreadable lines are always set aside, for `rejected_lines` after a statement reads it."""
        return f"SELECT * FROM {self.files.view(file, fmt, encoding, delimiter, max_line_size)}"

    def rejected_lines(self) -> list[tuple[int, str, str | None, str | None]]:
        return self.files.rejected_lines()

    def drop_rejected(self) -> None:
        self.files.read = False

    def new_load_ids(self, n: int) -> list[int]:
        """After the highest id in `loads` and any this process handed out (Spark has no sequence;
        two processes loading one Spark warehouse at once may take the same ids)."""
        top = self.execute("SELECT max(load_id) FROM loads").fetchall()[0][0] if self.has_table("loads") else None
        start = max(int(top or 0), self._last_load_id) + 1
        self._last_load_id = start + int(n) - 1
        return list(range(start, start + int(n)))

    def row_hash(self, values: Sequence[str]) -> str:
        return f"xxhash64({', '.join(values)})"

    def text_hash(self, value: str) -> str:
        # Spark reads a Parquet UBIGINT as DECIMAL(20,0): the same numbers
        return f"CAST(conv(substr(md5(CAST({value} AS VARCHAR)), 1, 16), 16, 10) AS DECIMAL(20, 0))"

    def row_number(self, table: str) -> str:
        """FILE_ROW, where the table keeps it: Spark keeps no order of rows to count."""
        if FILE_ROW in self.columns(table):
            return FILE_ROW
        raise QueryFailed(f"{table}: Spark keeps no order of a table's rows; only a file's read numbers them")

    def row_record(self, alias: str, columns: Sequence[str] | None = None) -> str:
        if columns is None:
            return f"struct({alias}.*)"
        return f"struct({', '.join(f'{alias}.{_ident(c)}' for c in columns)})"

    def record(self, fields: Mapping[str, str]) -> str:
        return f"named_struct({', '.join(f'{_literal(name)}, {value}' for name, value in fields.items())})"

    def json_text(self, value: str) -> str:
        return f"to_json({value})"

    def non_null(self, items: Sequence[str]) -> str:
        return f"filter(array({', '.join(items)}), x -> x IS NOT NULL)"

    @contextmanager
    def map_rows(self, sql: str, fn: Callable[[pd.DataFrame], pd.DataFrame],
                 types: Mapping[str, str]) -> Iterator[str]:
        """`fn` runs in Spark's Python workers, on each partition's rows as Arrow batches become
        frames (mapInPandas): the rows never come to this process. The result is written once, to
        this process's scratch folder, so reading it twice does not run `fn` twice."""
        import uuid

        def each(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for frame in frames:
                yield fn(frame)

        name = f"_patron_mapped_{uuid.uuid4().hex[:8]}"
        rows = _guarded(lambda: self.spark.sql(self.transpile(sql)))
        self.tables.materialize(name, rows.mapInPandas(each, _ddl(types)))
        try:
            yield name
        finally:
            self.tables.drop(name, True)

    def temp_table(self, name: str, types: Mapping[str, str], values: Mapping[str, Sequence[Any]]) -> None:
        import pandas as pd
        from sqlglot import exp

        schema = ", ".join(f"{c} {exp.DataType.build(t, dialect='duckdb').sql(dialect='spark')}"
                           for c, t in types.items())
        frame = pd.DataFrame({c: list(v) for c, v in values.items()}, columns=list(types))
        self.spark.createDataFrame(frame, schema=schema).createOrReplaceTempView(name)

    @contextmanager
    def linkage(self, memory_share: float) -> Iterator[Any]:
        """Splink's Spark backend on this session: its working tables are Parquet in this process's
        scratch folder (Spark's memory is the session's, so `memory_share` is not Splink's to set)."""
        from splink import SparkAPI

        where = f"{self.tables.scratch}/linkage"
        self.spark.sparkContext.setCheckpointDir(where)
        try:
            yield SparkAPI(spark_session=self.spark, break_lineage_method="parquet")
        finally:
            self.tables.remove(where)


def _ddl(types: Mapping[str, str]) -> str:
    """Columns and DuckDB types, as a Spark schema string."""
    from sqlglot import exp

    return ", ".join(f"`{c}` {exp.DataType.build(t, dialect='duckdb').sql(dialect='spark')}" for c, t in types.items())


def _unique_ctes(tree: Any) -> Any:
    """A name a subquery's WITH gives again, made its own: SQLGlot writes every WITH at the top of
    the statement for Spark, where two of one name are refused (and a reference would be ambiguous).
    Shared relations carry their own WITH, so a stage's query that reads two of them meets this."""
    from sqlglot import exp

    withs = list(tree.find_all(exp.With))  # outermost first
    if len(withs) < 2:
        return tree
    tree = tree.copy()
    given: set[str] = set()
    for w in tree.find_all(exp.With):
        for cte in w.expressions:
            name = cte.alias_or_name
            if name.lower() not in given:
                given.add(name.lower())
                continue
            new, n = name, 1
            while new.lower() in given:
                n, new = n + 1, f"{name}_{n + 1}"
            given.add(new.lower())
            scope = w.parent
            for table in list(scope.find_all(exp.Table)):
                if table.name.lower() == name.lower() and not table.args.get("db") and _defined_by(table, name) is w:
                    table.set("this", exp.to_identifier(new))
                    if not table.alias:  # its columns were qualified by the old name
                        table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
    return tree


def _defined_by(table: Any, name: str) -> Any:
    """The nearest WITH around `table` that defines `name`, which is the one it reads."""
    node = table.parent
    while node is not None:
        w = node.args.get("with_") if hasattr(node, "args") else None
        if w is not None and any(c.alias_or_name.lower() == name.lower() for c in w.expressions):
            return w
        node = node.parent
    return None


def _exact_percentile(node: Any) -> Any:
    """DuckDB's quantile_cont(v, q) is Spark's percentile(v, q), exact; SQLGlot would write
    percentile_cont with two arguments, which Spark refuses, or the approximate percentile."""
    from sqlglot import exp

    if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    return node


# DuckDB's to_days(n) and the like: an interval of n units, as Spark's make_dt_interval(days, hours,
# minutes, seconds) makes it
_UNITS = {"to_days": 0, "to_hours": 1, "to_minutes": 2, "to_seconds": 3}


def _duckdb_functions(node: Any) -> Any:
    """DuckDB functions Spark has under another form: to_days and the like, regexp_full_match,
    isfinite, strptime, try."""
    from sqlglot import exp

    name = node.sql_name().lower() if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous) else (
        str(node.this).lower() if isinstance(node, exp.Anonymous) else "")
    if isinstance(node, exp.Try):
        # TRY(x): NULL where x fails on a row's values. Spark runs with ANSI mode off, where a cast or
        # sum that cannot be done gives NULL instead of failing: x alone (so a failure is an empty
        # value here, where DuckDB's TRY(x IS NULL) tells the two apart)
        return exp.paren(node.this.copy())
    if isinstance(node, exp.RegexpFullMatch):  # Spark's RLIKE finds the pattern anywhere: anchor it whole
        whole = exp.func("concat", exp.Literal.string("^(?:"), node.expression.copy(), exp.Literal.string(")$"))
        return exp.RegexpLike(this=node.this.copy(), expression=whole)
    if name == "isfinite":  # NaN is above every number in Spark, so not below infinity; NULL stays NULL
        infinity = exp.cast(exp.Literal.string("Infinity"), "DOUBLE")
        return exp.paren(exp.LT(this=exp.Abs(this=node.expressions[0].copy()), expression=infinity))
    if name in ("try_strptime", "strptime") and isinstance(node, exp.Anonymous | exp.StrToTime):
        value, given = (node.expressions if isinstance(node, exp.Anonymous) else (node.this, node.args["format"]))
        if not (isinstance(given, exp.Literal) and given.is_string):
            raise QueryFailed("Spark has no form of a date format that is not a text written in the query")
        return exp.Anonymous(this="try_to_timestamp" if name.startswith("try") else "to_timestamp",
                             expressions=[value.copy(), exp.Literal.string(java_date_format(given.this))])
    if name in _UNITS:
        count = node.this if not isinstance(node, exp.Anonymous) else node.expressions[0]
        parts: list[exp.Expression] = [exp.Literal.number(0) for _ in range(4)]
        parts[_UNITS[name]] = count.copy()
        return exp.Anonymous(this="make_dt_interval", expressions=parts)
    return node


# strftime's directives as DuckDB's strptime reads them -> Java's DateTimeFormatter letters, which
# Spark reads (one letter reads one or two digits, as DuckDB does; "y" reads the year as written)
_DIRECTIVES = {"Y": "y", "y": "yy", "m": "M", "d": "d", "-d": "d", "-m": "M", "H": "H", "-H": "H", "I": "h",
               "-I": "h", "M": "m", "-M": "m", "S": "s", "-S": "s", "p": "a", "b": "MMM", "B": "MMMM", "a": "EEE",
               "A": "EEEE", "f": "SSSSSS", "z": "XX", "Z": "zzz", "j": "D", "e": "d"}


def java_date_format(strftime: str) -> str:
    """A strptime format as Spark's datetime pattern: letters of the text itself quoted; a directive
    with no counterpart is refused by name."""
    out, literal, i = [], "", 0

    def flush() -> None:
        nonlocal literal
        if literal:
            out.append("'" + literal.replace("'", "''") + "'" if any(c.isalpha() or c == "'" for c in literal)
                       else literal)
            literal = ""

    while i < len(strftime):
        ch = strftime[i]
        if ch != "%" or i + 1 == len(strftime):
            literal += ch
            i += 1
            continue
        code = strftime[i + 1:i + 3] if strftime[i + 1] == "-" else strftime[i + 1]
        i += 1 + len(code)
        if code == "%":
            literal += "%"
            continue
        if code not in _DIRECTIVES:
            raise QueryFailed(f"Spark has no form of the date format directive %{code} (in {strftime!r})")
        flush()
        out.append(_DIRECTIVES[code])
    flush()
    return "".join(out)


def _bind(tree: Any, args: Sequence[Any] | dict | None) -> tuple[Any, Sequence[Any] | dict | None]:
    """DuckDB's numbered parameters ($1) as Spark's named ones (:p1); a date format given as one is
    written into the query instead, where it can be carried into Spark's datetime pattern."""
    from sqlglot import exp

    if not isinstance(args, list):
        return tree, args

    def number(node: Any) -> int | None:
        return int(node.this) if isinstance(node, exp.Placeholder) and str(node.this or "").isdigit() else None

    if not any(number(p) for p in tree.find_all(exp.Placeholder)):
        return tree, args

    def visit(node: Any) -> Any:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in ("try_strptime", "strptime") \
                and len(node.expressions) == 2 and number(node.expressions[1]) and \
                isinstance(args[number(node.expressions[1]) - 1], str):
            node.expressions[1].replace(exp.Literal.string(args[number(node.expressions[1]) - 1]))
        elif number(node):
            return exp.Placeholder(this=f"p{number(node)}")
        return node

    return tree.transform(visit), {f"p{i}": v for i, v in enumerate(args, 1)}


def _java_line(e: Exception) -> str:
    """The Java exception's own first line where there is one (py4j's says only which call failed)."""
    java = getattr(e, "java_exception", None)
    text = str(java.toString()) if java is not None else str(e)
    return (text.strip().splitlines() or [type(e).__name__])[0][:300]


def _exists(spark: Any, path: str) -> bool:
    """Whether a folder exists where Spark reads (any file system Hadoop knows)."""
    jvm = spark.sparkContext._jvm
    target = jvm.org.apache.hadoop.fs.Path(path)
    return bool(target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(target))


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _ident(name: str) -> str:
    """A column name as DuckDB's dialect quotes it (the stages' SQL is transpiled from it)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + _quoted(text) + "'"


def _schema_of(df: pd.DataFrame) -> Any:
    """An empty frame's columns as Spark types, by way of Arrow's reading of the pandas dtypes:
    Spark infers types from rows, and an empty frame has none. A column of no values is text."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StringType, StructField, StructType

    types = pa.Schema.from_pandas(df, preserve_index=False).types
    return StructType([StructField(str(name), StringType() if pa.types.is_null(t) else from_arrow_type(t), True)
                       for name, t in zip(df.columns, types, strict=True)])
