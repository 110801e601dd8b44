"""Changing a Spark warehouse's Parquet tables: what DuckDB does in place, done by writing anew.

A Parquet file is never changed: a DELETE or an UPDATE computes the table's new rows, writes them
beside the old ones and puts them in the old ones' place (copy on write); a CREATE OR REPLACE does
the same with its query's rows. Temporary tables are Parquet too, in a scratch folder of this
process (removed when it ends), so a stage may insert into and update them as it does on DuckDB,
and a temporary table read after its sources change keeps the rows it was made with.

Spark has no transactions over Parquet: a command stopped half-way leaves the tables it finished
changed. Each table's swap is one rename on file systems that rename atomically (HDFS, local).

Statements arrive parsed from DuckDB's dialect (SQLGlot trees); queries in them are carried into
Spark's by the engine's `transpile`.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from patron.errors import QueryFailed

ROW = "_patron_row"  # a row's identity while an UPDATE finds its new values
STAGED = ".patron-next"  # the new rows of a table, before they take the old ones' place


class Tables:
    """Where each table's Parquet lives, and the operations that rewrite it."""

    def __init__(self, spark: Any, root: str, transpile: Callable[[exp.Expression], str],
                 run: Callable[[str, Sequence[Any] | None], Any]):
        self.spark = spark
        self.root = root
        self.scratch = f"{root}/_patron_scratch/{uuid.uuid4().hex[:12]}"
        self._transpile = transpile
        self._run = run  # Spark SQL text and its parameters -> a DataFrame
        self.paths: dict[str, str] = {}
        atexit.register(self._forget_scratch)

    # the catalog
    def register(self, name: str, path: str) -> None:
        self.spark.sql(f"DROP TABLE IF EXISTS {name}")
        self.spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{quoted(path)}'")
        self.paths[name] = path

    def path(self, name: str) -> str:
        if not self.spark.catalog.tableExists(name):
            raise QueryFailed(f"Table with name {name} does not exist")
        return self.paths.get(name, f"{self.root}/{name}")

    def _write(self, name: str, frame: Any, path: str | None = None) -> None:
        """`frame`'s rows become table `name`'s, in place of any it had."""
        where = path or self.path(name)
        staged = where + STAGED
        _guard(lambda: frame.write.mode("overwrite").parquet(staged))
        fs, target, new = self._fs(where), self._hpath(where), self._hpath(staged)
        if fs.exists(target):
            fs.delete(target, True)
        if not fs.rename(new, target):
            raise QueryFailed(f"could not put the new rows of {name} in place at {where}")
        self.register(name, where)

    # statements
    def create(self, tree: exp.Create, args: Sequence[Any] | None) -> None:
        """CREATE [OR REPLACE] [TEMP] TABLE name (columns) | AS query."""
        name = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
        exists = self.spark.catalog.tableExists(name)
        if exists and tree.args.get("exists"):  # IF NOT EXISTS
            return
        if exists and not tree.args.get("replace"):
            raise QueryFailed(f"Table {name} already exists")
        temporary = any(isinstance(p, exp.TemporaryProperty) for p in (tree.args.get("properties") or exp.Properties(
            expressions=[])).expressions)
        path = (f"{self.scratch}/{name}" if temporary else self.paths.get(name, f"{self.root}/{name}"))
        query = tree.expression
        if query is not None:
            frame = self._run(self._transpile(query), args)
        else:
            frame = self.spark.createDataFrame([], _schema(tree.this))
        self._write(name, frame, path)

    def materialize(self, name: str, frame: Any) -> None:
        """A DataFrame's rows, computed once, as temporary table `name`."""
        self._write(name, frame, f"{self.scratch}/{name}")

    def drop(self, name: str, if_exists: bool) -> None:
        if not self.spark.catalog.tableExists(name):
            if if_exists:
                return
            raise QueryFailed(f"Table with name {name} does not exist")
        where = self.path(name)
        self.spark.sql(f"DROP TABLE {name}")
        self.paths.pop(name, None)
        fs = self._fs(where)
        if fs.exists(self._hpath(where)):
            fs.delete(self._hpath(where), True)

    def rename(self, name: str, to: str) -> None:
        """ALTER TABLE name RENAME TO to: its folder moves beside the old one (a temporary table's
        stays in the scratch folder)."""
        if self.spark.catalog.tableExists(to):
            raise QueryFailed(f"Table {to} already exists")
        where = self.path(name)
        folder = where.rsplit("/", 1)[0]
        target = f"{folder}/{to}"
        self.spark.sql(f"DROP TABLE {name}")
        self.paths.pop(name, None)
        if self.exists(target):
            self.remove(target)
        if not self._fs(where).rename(self._hpath(where), self._hpath(target)):
            raise QueryFailed(f"could not move {where} to {target}")
        self.register(to, target)

    def delete(self, tree: exp.Delete, args: Sequence[Any] | None) -> None:
        """DELETE FROM t [WHERE condition]: the rows for which it is not true are kept."""
        table = tree.this
        name, alias = table.name, table.alias_or_name
        where = tree.args.get("where")
        source = exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        keep = exp.select("*").from_(source)
        if where is not None:
            keep = keep.where(exp.not_(exp.func("COALESCE", exp.paren(where.this.copy()), exp.false())))
        else:
            keep = keep.where(exp.false())
        self._write(name, self._run(self._transpile(keep), args))

    def update(self, tree: exp.Update, args: Sequence[Any] | None) -> None:
        """UPDATE t [AS a] SET column = value, ... [FROM other] [WHERE condition]: each row for which
        the condition holds (with some row of `other`) takes the values; others stay as they are."""
        table = tree.this
        name, alias = table.name, table.alias_or_name
        columns = self.spark.table(name).schema
        kinds = {f.name.lower(): f.dataType.simpleString() for f in columns.fields}
        sets = []
        for i, assignment in enumerate(tree.expressions):
            column = assignment.this.name.lower()
            if column not in kinds:
                raise QueryFailed(f"{name} has no column {assignment.this.name}")
            sets.append((column, f"_patron_v{i}", assignment.expression))
        base = f"_patron_base_{uuid.uuid4().hex[:8]}"
        rows = self.spark.table(name).selectExpr(f"monotonically_increasing_id() AS {ROW}", "*").localCheckpoint()
        rows.createOrReplaceTempView(base)
        try:
            source = exp.Table(this=exp.to_identifier(base), alias=exp.TableAlias(this=exp.to_identifier(alias)))
            hits = exp.select(exp.column(ROW, alias), *(exp.alias_(value.copy(), v) for _, v, value in sets))
            hits = hits.from_(source)
            found = tree.args.get("from_") or tree.args.get("from")
            if found is not None:
                hits = hits.join(found.this.copy(), join_type="cross")
                for extra in found.expressions or []:
                    hits = hits.join(extra.copy(), join_type="cross")
            if tree.args.get("where") is not None:
                hits = hits.where(tree.args["where"].this.copy())
            # a row several rows of `other` meet takes one of their values, as DuckDB does
            changed = self._run(self._transpile(hits), args).dropDuplicates([ROW])
            if _guard(changed.isEmpty):  # no row takes new values: the table stays as it is, unwritten
                return
            new = {c: v for c, v, _ in sets}
            r, h = rows.alias("r"), changed.alias("h")
            out = r.join(h, r[ROW] == h[ROW], "left")
            picks = [f"CASE WHEN h.{ROW} IS NOT NULL THEN CAST(h.{new[f.name.lower()]} AS {kinds[f.name.lower()]}) "
                     f"ELSE r.`{f.name}` END AS `{f.name}`" if f.name.lower() in new else f"r.`{f.name}`"
                     for f in columns.fields]
            self._write(name, out.selectExpr(*picks))
        finally:
            self.spark.catalog.dropTempView(base)

    # files
    def _hpath(self, path: str) -> Any:
        return self.spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)

    def _fs(self, path: str) -> Any:
        return self._hpath(path).getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())

    def exists(self, path: str) -> bool:
        return bool(self._fs(path).exists(self._hpath(path)))

    def put(self, local: str, path: str) -> None:
        """Move a file of this machine to `path`, on the warehouse's file system (whatever Hadoop
        reaches: the executors read it there)."""
        fs = self._fs(path)
        fs.mkdirs(self._hpath(path.rsplit("/", 1)[0]))
        fs.copyFromLocalFile(True, True, self._hpath(local), self._hpath(path))

    def remove(self, path: str) -> None:
        if self.exists(path):
            self._fs(path).delete(self._hpath(path), True)

    def _forget_scratch(self) -> None:
        try:
            fs = self._fs(self.scratch)
            if fs.exists(self._hpath(self.scratch)):
                fs.delete(self._hpath(self.scratch), True)
        except Exception:  # the JVM may be gone at exit; the folder is this process's alone
            pass


def _schema(schema: exp.Expression) -> str:
    """A DDL column list in Spark's types, from a DuckDB CREATE TABLE's columns."""
    return ", ".join(f"{c.name} {c.args['kind'].sql(dialect='spark')}" for c in schema.expressions
                     if isinstance(c, exp.ColumnDef))


def _guard(call: Callable[[], Any]) -> Any:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    from patron.warehouse.engines.spark import _first_line

    try:
        return call()
    except (PySparkException, Py4JJavaError) as e:
        raise QueryFailed(_first_line(e)) from e


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
