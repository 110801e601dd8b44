"""Customer attributes from any export: declared per source in patron.yml, checked like every other
column, kept per customer with lineage in `customer_attributes`, current per master customer in
CURRENT_ATTRIBUTES, and slices of the metrics; personal data is kept and flagged, never a slice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import write
from patron.config import ConfigProblems, declared_attributes, parse_project
from patron.errors import MetricError
from patron.metrics import evaluate
from patron.metrics.spec import builtin_catalog, with_overrides
from patron.project import Project
from patron.relations import CURRENT_ATTRIBUTES

TYPES = {"credit_score": "int", "gender": "text", "age": "int", "tenure": "int", "balance": "float",
         "products": "int", "has_card": "bool", "active_member": "bool", "salary": "float", "exited": "bool",
         "surname": "text"}
COLUMNS = {"credit_score": "CreditScore", "gender": "Gender", "age": "Age", "tenure": "Tenure", "balance": "Balance",
           "products": "NumOfProducts", "has_card": "HasCrCard", "active_member": "IsActiveMember",
           "salary": "EstimatedSalary", "exited": "Exited", "surname": "Surname"}
# a metric a customers-only export can have: customers, counted (the catalog's need other tables)
CUSTOMERS = {"label": "Customers", "definition": "Customers in the export.", "kind": "count", "table": "customers",
             "time": "created_at", "unit": "customers", "better": "higher", "dimensions": ["region"]}


def bank_yml(csv: Path) -> dict:
    attributes: dict[str, object] = {n: {"column": c, "type": TYPES[n]} for n, c in COLUMNS.items()}
    attributes["gender"] = "Gender"  # the short form: a text attribute
    attributes["surname"] = {"column": "Surname", "personal": True}
    return {
        "sources": {"bank": {
            "path": str(csv), "table": "customers", "customer_ref": "CustomerId",
            "columns": {"name": "Surname", "region": "Geography"},
            "snapshot_date": "2024-06-30", "expressions": {"created_at": "snapshot_date - INTERVAL (Tenure) YEAR"},
            "attributes": attributes}},
        "metrics": {"bank_customers": CUSTOMERS},
    }


@pytest.fixture(scope="module")
def bank(datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """(patron.yml, warehouse, the file as pandas reads it) of the bank's export, loaded and resolved."""
    csv = datasets / "bank_churn" / "bank_churn_modelling.csv"
    root = tmp_path_factory.mktemp("bank")
    yml = write(root / "patron.yml", yaml.safe_dump(bank_yml(csv)))
    with Project.open(yml, root / "w.duckdb", require_config=True) as project:
        result = project.ingest()
        assert result.total("loaded") == 10_000 and result.total("quarantined") == 0
        project.identity.resolve()
    return yml, root / "w.duckdb", pd.read_csv(csv)


def catalog_of(project: Project) -> dict:
    """The catalog as a project with attributes builds it (patron.yml's metrics and attributes)."""
    return with_overrides(builtin_catalog(), project.config.metrics, attributes=declared_attributes(project.config))


def test_every_customer_has_its_attributes_typed_with_lineage(bank):
    yml, db, df = bank
    with Project.open(yml, db) as project:
        got = project.warehouse.df("SELECT a.*, c.customer_id AS master FROM customer_attributes a "
                                   "JOIN customers c ON c.source = a.source AND c.customer_ref = a.customer_ref")
        (load_id,) = project.warehouse.rows("SELECT load_id FROM loads WHERE source = 'bank'")[0]
    assert len(got) == 10_000 * len(TYPES)
    assert (got.groupby("name")["customer_ref"].nunique() == 10_000).all()
    assert dict(got.groupby("name")["type"].first()) == TYPES
    assert (got["customer_id"] == got["master"]).all() and got["customer_id"].notna().all()
    assert (got["source"] == "bank").all() and (got["load_id"] == load_id).all()
    assert (got["source_key"] == got["customer_ref"]).all()
    # every value points at its row of the file, and is that row's value
    row = df.set_index("CustomerId")
    got["ref"] = got["customer_ref"].astype("int64")
    assert (got["source_row"].to_numpy() == row.loc[got["ref"], "RowNumber"].to_numpy()).all()
    for name, column in COLUMNS.items():
        mine = got[got["name"] == name].set_index("ref").sort_index()
        theirs = row.loc[mine.index, column]
        if TYPES[name] in ("int", "float"):
            assert mine["number"].to_numpy() == pytest.approx(theirs.astype(float).to_numpy()), name
            assert mine["day"].isna().all() and mine["flag"].isna().all()
        elif TYPES[name] == "bool":
            assert (mine["flag"].astype(bool).to_numpy() == (theirs == 1).to_numpy()).all(), name
            assert set(mine["value"]) == {"true", "false"}
        else:
            assert (mine["value"].to_numpy() == theirs.to_numpy()).all(), name
    ints = got[got["type"] == "int"]
    assert (ints["value"] == ints["number"].astype("int64").astype(str)).all()  # "42", not "42.0"
    # personal data is kept and flagged, whatever else is not
    assert dict(got.groupby("name")["personal"].all()) == {n: n == "surname" for n in TYPES}


def test_the_current_attributes_are_one_value_per_customer_and_name(bank):
    yml, db, _ = bank
    with Project.open(yml, db) as project:
        current = project.warehouse.df(CURRENT_ATTRIBUTES)
        masters = project.warehouse.scalar("SELECT count(DISTINCT customer_id) FROM customers")
    assert list(current.columns) == ["customer", "name", "type", "value", "number", "day", "flag", "personal"]
    assert len(current) == masters * len(TYPES) and not current.duplicated(["customer", "name"]).any()
    assert set(current.loc[current["personal"], "name"]) == {"surname"}


def test_a_metric_is_sliced_by_an_attribute_with_the_numbers_pandas_gives(bank):
    yml, db, df = bank
    with Project.open(yml, db) as project:
        catalog = catalog_of(project)
        spec = catalog["bank_customers"]
        assert {"exited", "products", "gender"} <= set(spec.dimensions) and "surname" not in spec.dimensions
        # the catalog's own metrics sliced by customers learn the attributes too
        assert "exited" in catalog["mrr"].dimensions and "exited" in catalog["nps"].dimensions
        by_exit = evaluate(project.warehouse, spec, ["exited"], None, catalog=catalog, store=False)
        by_both = evaluate(project.warehouse, spec, ["products", "region"], None, catalog=catalog, store=False)
    assert dict(zip(by_exit["exited"], by_exit["value"], strict=True)) == {
        "true": (df["Exited"] == 1).sum(), "false": (df["Exited"] == 0).sum()}
    expected = df.groupby(["NumOfProducts", "Geography"]).size()
    assert {(int(p), r): v for p, r, v in zip(by_both["products"], by_both["region"], by_both["value"], strict=True)
            } == expected.to_dict()


def test_a_personal_attribute_or_an_unknown_one_is_refused_as_a_slice(bank):
    yml, db, _ = bank
    with Project.open(yml, db) as project:
        catalog = catalog_of(project)
        with pytest.raises(MetricError, match="cannot be sliced by surname: personal data is kept, never a slice"):
            evaluate(project.warehouse, catalog["bank_customers"], ["surname"], None, catalog=catalog)
        with pytest.raises(MetricError, match=r"cannot be sliced by not_an_attribute; its dimensions are: region, "
                                              r"active_member, age, balance, credit_score, exited, gender"):
            evaluate(project.warehouse, catalog["bank_customers"], ["not_an_attribute"], None, catalog=catalog)
        with pytest.raises(MetricError, match="personal data"):
            evaluate(project.warehouse, catalog["mrr"], ["surname"], "month", catalog=catalog)


def test_a_value_that_fails_its_type_is_quarantined_naming_the_attribute(tmp_path):
    write(tmp_path / "c.csv", "CustomerId,Surname,Age,Since\n1,Smith,40,2020-01-05\n2,Jones,forty,2021-02-03\n"
                              "3,Brown,,2019-07-01\n4,Green,51,someday\n")
    yml = write(tmp_path / "patron.yml", yaml.safe_dump({"sources": {"shop": {
        "path": "c.csv", "table": "customers", "customer_ref": "CustomerId", "columns": {"name": "Surname"},
        "max_reject_share": 1, "attributes": {"age": {"column": "Age", "type": "int"},
                                              "since": {"column": "Since", "type": "date"}}}}}))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        result = project.ingest()
        (load,) = result.files
        assert (load.read, load.loaded, load.quarantined) == (4, 2, 2) and load.adds_up()
        bad = project.warehouse.rows("SELECT row_number, field, value, reason FROM quarantine ORDER BY 1")
        kept = project.warehouse.rows("SELECT customer_ref, name, value FROM customer_attributes ORDER BY 1, 2")
        assert project.warehouse.scalar("SELECT count(*) FROM customers") == 2
    assert bad == [(2, "attributes.age", "forty", "not a whole number"),
                   (4, "attributes.since", "someday", "not a date (ISO 8601 expected, e.g. 2024-03-31)")]
    assert kept == [("1", "age", "40"), ("1", "since", "2020-01-05"), ("3", "since", "2019-07-01")]
    # bad values count toward the source's reject share: past it, nothing of the source loads
    yml.write_text(yml.read_text().replace("max_reject_share: 1", "max_reject_share: 0.4"))
    with Project.open(yml, tmp_path / "w2.duckdb", require_config=True) as project:
        (refusal,) = project.ingest().refused
    assert "attributes.age: not a whole number (1 row)" in refusal.message()


def test_a_reload_replaces_each_customers_attributes_and_adds_nothing(tmp_path):
    csv = write(tmp_path / "c.csv", "id,name,tier,age\n1,Ann,gold,40\n2,Bob,silver,33\n3,Cy,gold,27\n")
    yml = write(tmp_path / "patron.yml", yaml.safe_dump({"sources": {"crm": {
        "path": "c.csv", "table": "customers", "customer_ref": "id",
        "attributes": {"tier": {"column": "tier", "values": {"gold": "Gold"}}, "age": {"column": "age",
                                                                                        "type": "int"}}}}}))

    def attributes(project: Project) -> list[tuple]:
        return project.warehouse.rows("SELECT customer_ref, name, value, load_id FROM customer_attributes "
                                      "ORDER BY 1, 2")

    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        first = attributes(project)
        assert first == [("1", "age", "40", 1), ("1", "tier", "Gold", 1), ("2", "age", "33", 1),
                         ("2", "tier", "silver", 1), ("3", "age", "27", 1), ("3", "tier", "Gold", 1)]
        project.ingest()
        assert attributes(project) == first  # the same file again: nothing added, nothing rewritten
        # Ann is older, Bob's tier is gone, Cy is not in the file: only what changed is rewritten
        csv.write_text("id,name,tier,age\n1,Ann,gold,41\n2,Bob,,33\n")
        project.ingest()
        assert attributes(project) == [("1", "age", "41", 3), ("1", "tier", "Gold", 1), ("2", "age", "33", 1),
                                       ("3", "age", "27", 1), ("3", "tier", "Gold", 1)]
        assert project.warehouse.scalar("SELECT count(*) - count(DISTINCT (source, customer_ref, name)) "
                                        "FROM customer_attributes") == 0


def test_several_rows_of_a_customer_keep_the_last_value_in_file_order(tmp_path):
    write(tmp_path / "s.csv", "sub,cust,mrr,start,contract\ns1,A,10,2024-01-01,monthly\ns2,B,20,2024-01-01,annual\n"
                              "s3,A,15,2024-03-01,annual\ns4,A,15,2024-04-01,\n")
    write(tmp_path / "o.csv", "inv,cust,amount,at,country\ni1,A,5,2024-01-02,France\ni1,A,6,2024-01-02,Spain\n"
                              "i2,A,7,2024-02-02,\n")
    yml = write(tmp_path / "patron.yml", yaml.safe_dump({"sources": {
        "billing": {"path": "s.csv", "table": "subscriptions", "customer_ref": "cust",
                    "columns": {"subscription_id": "sub", "start_date": "start"},
                    "attributes": {"contract": "contract"}},
        "shop": {"path": "o.csv", "table": "orders", "customer_ref": "cust",
                 "columns": {"order_id": "inv", "ordered_at": "at"}, "rollup": {"amount": "sum"},
                 "attributes": {"country": "country"}}}}))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        got = project.warehouse.rows("SELECT source, customer_ref, name, value, source_key, source_row "
                                     "FROM customer_attributes ORDER BY 1, 2")
    # an empty value is no value: the last row that gives one counts, and the lineage names that row
    assert got == [("billing", "A", "contract", "annual", "s3|2024-03-01", 3),
                   ("billing", "B", "contract", "annual", "s2|2024-01-01", 2),
                   ("shop", "A", "country", "Spain", "i1", 2)]


def test_where_sources_disagree_the_trusted_one_gives_the_current_value(tmp_path):
    write(tmp_path / "crm.csv", "id,name,contract\n1,Acme,annual\n2,Beta,monthly\n")
    write(tmp_path / "billing.csv", "id,name,contract\n1,Acme,monthly\n")
    source = {"table": "customers", "customer_ref": "id", "system": "crm", "attributes": {"contract_type": "contract"}}
    data = {"sources": {"crm": {"path": "crm.csv", **source}, "billing": {"path": "billing.csv", **source}}}
    yml = write(tmp_path / "patron.yml", yaml.safe_dump(data, sort_keys=False))

    def current(project: Project) -> dict:
        return {c: v for c, v in project.warehouse.rows(
            f"SELECT m.ref, a.value FROM ({CURRENT_ATTRIBUTES}) a JOIN identity_map m ON m.customer_id = a.customer "
            "WHERE a.name = 'contract_type'")}

    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        project.identity.resolve()
        assert current(project) == {"1": "annual", "2": "monthly"}  # patron.yml's order: crm first
    yml.write_text(yaml.safe_dump(data | {"identity": {"trusted_sources": ["billing", "crm"]}}, sort_keys=False))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()  # every ingest brings the trusted order to patron.yml's
        assert current(project) == {"1": "monthly", "2": "monthly"}


def test_an_attribute_keeps_the_bounds_every_other_value_keeps(tmp_path):
    """A text no longer than any other field, a date no further ahead than the tolerance, a number
    finite and of a plausible size: past them the row is quarantined, named by the attribute."""
    from datetime import date, timedelta

    from patron.model import MAX_FIELD, NOT_FINITE

    soon, later = date.today() + timedelta(days=1), date.today() + timedelta(days=40)
    write(tmp_path / "c.csv", "id,name,remark,since,balance\n"
                              f"1,Ann,{'x' * MAX_FIELD},{soon},10.5\n"  # good: at the bounds
                              f"2,Bob,{'y' * (MAX_FIELD + 1)},2020-01-01,1\n"
                              f"3,Cy,ok,{later},2\n"
                              "4,Di,ok,9999-12-31,3\n"
                              "5,Ed,ok,2020-01-01,inf\n"
                              "6,Flo,ok,2020-01-01,NaN\n"
                              "7,Gus,ok,2020-01-01,1e300\n")
    yml = write(tmp_path / "patron.yml", yaml.safe_dump({"sources": {"crm": {
        "path": "c.csv", "table": "customers", "customer_ref": "id", "max_reject_share": 1,
        "attributes": {"remark": "remark", "since": {"column": "since", "type": "date"},
                       "balance": {"column": "balance", "type": "float"}}}}}))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        (load,) = project.ingest().files
        assert (load.read, load.loaded, load.quarantined) == (7, 1, 6) and load.adds_up()
        bad = project.warehouse.rows("SELECT row_number, field, reason FROM quarantine ORDER BY 1")
        kept = project.warehouse.rows("SELECT name, value FROM customer_attributes ORDER BY 1")
    assert bad == [(2, "attributes.remark", f"longer than {MAX_FIELD:,} characters"),
                   (3, "attributes.since", "in the future (more than 1 day ahead)"),
                   (4, "attributes.since", "in the future (more than 1 day ahead)"),
                   (5, "attributes.balance", NOT_FINITE), (6, "attributes.balance", NOT_FINITE),
                   (7, "attributes.balance", "too large (beyond ±1,000,000,000,000,000)")]
    assert kept == [("balance", "10.5"), ("remark", "x" * MAX_FIELD), ("since", soon.isoformat())]


def test_an_attribute_whose_type_changed_holds_only_the_new_type_after_a_reload(tmp_path):
    """tier was text and is a number now: the source's text values go, for every customer (those its
    file no longer holds too), so a slice or a model reads one type; the result says what went."""
    from patron.predict.attributes import wide

    csv = write(tmp_path / "c.csv", "id,name,tier\n1,Ann,gold\n2,Bob,silver\n3,Cy,gold\n")
    data = {"sources": {"crm": {"path": "c.csv", "table": "customers", "customer_ref": "id",
                                "attributes": {"tier": "tier"}}}}
    yml = write(tmp_path / "patron.yml", yaml.safe_dump(data))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        assert project.ingest().attributes_dropped == []
    csv.write_text("id,name,tier\n1,Ann,1\n2,Bob,2\n")
    data["sources"]["crm"]["attributes"]["tier"] = {"column": "tier", "type": "int"}
    yml.write_text(yaml.safe_dump(data))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        result = project.ingest()
        got = project.warehouse.rows("SELECT customer_ref, type, value, number FROM customer_attributes ORDER BY 1")
        current = project.warehouse.rows(f"SELECT DISTINCT type FROM ({CURRENT_ATTRIBUTES}) AS a")
        frame, kinds, _ = wide(project.warehouse)
    assert got == [("1", "int", "1", 1.0), ("2", "int", "2", 2.0)]
    assert current == [("int",)] and kinds == {"tier": "int"} and frame["tier"].to_dict() == {"1": 1.0, "2": 2.0}
    assert result.attributes_dropped == ["sources.crm.attributes.tier: 3 values dropped (stored as text, declared "
                                         "int now: the source's load gives the int values)"]


def test_attributes_of_a_source_taken_out_of_patron_yml_no_longer_count(tmp_path):
    """The old CRM is gone from patron.yml: its attributes leave the current ones at the next ingest
    (its say on a customer's value too), and so do those of an attribute a source no longer declares."""
    write(tmp_path / "old.csv", "id,name,tier,legacy_code\n1,Ann,bronze,L1\n2,Bob,bronze,L2\n")
    write(tmp_path / "crm.csv", "id,name,tier,region_code\n1,Ann,gold,R1\n")
    source = {"table": "customers", "customer_ref": "id", "system": "crm"}
    data = {"sources": {
        "old": {"path": "old.csv", **source, "attributes": {"tier": "tier", "legacy_code": "legacy_code"}},
        "crm": {"path": "crm.csv", **source, "attributes": {"tier": "tier", "region_code": "region_code"}}}}
    yml = write(tmp_path / "patron.yml", yaml.safe_dump(data, sort_keys=False))

    def current(project: Project) -> set[tuple[str, str, str]]:
        return set(project.warehouse.rows(f"SELECT customer, name, value FROM ({CURRENT_ATTRIBUTES}) AS a"))

    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        assert current(project) == {("1", "tier", "bronze"), ("2", "tier", "bronze"), ("1", "legacy_code", "L1"),
                                    ("2", "legacy_code", "L2"), ("1", "region_code", "R1")}  # old is trusted first
    del data["sources"]["old"]
    del data["sources"]["crm"]["attributes"]["region_code"]
    yml.write_text(yaml.safe_dump(data, sort_keys=False))
    with Project.open(yml, tmp_path / "w.duckdb", require_config=True) as project:
        result = project.ingest()
        assert current(project) == {("1", "tier", "gold")}
        assert project.warehouse.scalar("SELECT count(*) FROM customers WHERE source = 'old'") == 2  # rows stay
    assert result.attributes_dropped == [
        "sources.old: 4 attribute values dropped (the source is no longer in patron.yml)",
        "sources.crm.attributes.region_code: 1 value dropped (no longer in sources.crm.attributes)"]


def test_attribute_problems_in_patron_yml_are_reported_with_their_keys_all_at_once():
    data = {"sources": {
        "bank": {"path": "b.csv", "table": "customers", "customer_ref": "CustomerId", "attributes": {
            "Gender": "Gender", "segment": "Segment", "email": "Email", "churn": "Exited",
            "age": {"column": "Age", "type": "int", "values": {"forty": "x"}},
            "both": {"column": "A", "expression": "B + 1"}, "neither": {"type": "bool"},
            "files": {"expression": "read_csv('/etc/passwd')"},
            "active": {"column": "Active", "type": "bool", "values": {"Y": True, "N": "nope"}}}},
        "notes": {"path": "n.csv", "table": "costs", "attributes": {"age": {"column": "Age", "type": "float"}}},
        "crm": {"path": "c.csv", "table": "customers", "attributes": {"contract": "Contract"}}}}
    with pytest.raises(ConfigProblems) as e:
        parse_project(data)
    assert e.value.problems == [
        "sources.bank.attributes.Gender: an attribute's name is lower-case letters, digits and _, starting with a "
        "letter (e.g. contract_type)",
        "sources.bank.attributes.segment: segment is a customer dimension of the golden record; map it under "
        "columns: (segment: Segment) where the table has it",
        "sources.bank.attributes.email: 'email' is a column of the canonical tables; give the attribute a name of its "
        "own (e.g. bank_email)",
        "sources.bank.attributes.churn: 'churn' names a column of metric results; give the attribute a name of its own",
        "sources.bank.attributes.age.values.forty: 'x' is not a number",
        "sources.bank.attributes.both: give a column or an expression (one of them)",
        "sources.bank.attributes.neither: give a column or an expression (one of them)",
        "sources.bank.attributes.files.expression: function READ_CSV() is not allowed in a source",
        "sources.bank.attributes.active.values.N: 'nope' is not true or false (a bool attribute's values are "
        "true/false, yes/no, y/n or 1/0)",
        "sources.notes.attributes: costs rows belong to no customer (no customer_ref); give attributes on a source "
        "of customers, subscriptions, orders...",
        "sources.crm.attributes: attributes are kept per customer; set customer_ref: (the file's column holding the "
        "customer id)",
        "sources.notes.attributes.age.type: float, but sources.bank.attributes.age is int; an attribute has one type "
        "(or give it another name here)",
    ]
    with pytest.raises(ConfigProblems) as e:  # a shape problem is named by pydantic, with its key
        parse_project({"sources": {"bank": {"path": "b.csv", "table": "customers", "customer_ref": "Id",
                                            "attributes": {"age": {"column": "Age", "tpye": "int"}}}}})
    assert e.value.problems == ["sources.bank.attributes.age.tpye: unknown key — did you mean 'type'?"]


def test_names_that_are_personal_data_are_personal_whatever_the_flag_says():
    cfg = parse_project({"sources": {"bank": {"path": "b.csv", "table": "customers", "customer_ref": "Id",
                                              "attributes": {
        "surname": {"column": "Surname", "personal": False}, "first_name": "First", "date_of_birth": "Born",
        "contact": "EmailAddress", "zip_code": "Zip", "home_phone": "Tel", "gender": "Gender",
        "has_card": {"column": "HasCrCard", "type": "bool"}, "segment_code": {"column": "Seg", "personal": True}}}}})
    assert declared_attributes(cfg) == {
        "surname": True, "first_name": True, "date_of_birth": True, "contact": True, "zip_code": True,
        "home_phone": True, "gender": False, "has_card": False, "segment_code": True}


def test_an_attribute_computed_from_personal_columns_is_personal():
    """lower(Email) is an email still, and a date of birth read by an expression is one: every column an
    expression reads is checked as a column of its own would be."""
    cfg = parse_project({"sources": {"bank": {"path": "b.csv", "table": "customers", "customer_ref": "Id",
                                              "attributes": {
        "contact": {"expression": "lower(Email)"}, "born": {"expression": "DateOfBirth", "type": "date"},
        "reach": {"expression": "coalesce(Tier, MobileNo)"},
        "age_band": {"expression": "CASE WHEN dob < DATE '1980-01-01' THEN 'old' END"},
        "double_tenure": {"expression": "Tenure * 2", "type": "int"}, "birth_place": "Town"}}}})
    assert declared_attributes(cfg) == {"contact": True, "born": True, "reach": True, "age_band": True,
                                        "double_tenure": False, "birth_place": True}


def test_a_feature_listed_twice_is_refused_naming_it():
    with pytest.raises(ConfigProblems) as e:
        parse_project({"predict": {"churn": {"attributes": ["tier", "region_code", "tier"]}}})
    assert e.value.problems == ["predict.churn.attributes: 'tier' listed more than once; name each attribute once"]


def test_the_names_an_attribute_may_not_take_cover_the_metrics_own():
    from patron.config import CUSTOMER_DIMENSIONS as CONFIG_DIMENSIONS
    from patron.config import METRIC_WORDS
    from patron.metrics import orders, revenue
    from patron.metrics.compile import AGGREGATES
    from patron.metrics.evaluate import OUTPUT
    from patron.metrics.spec import CUSTOMER_DIMENSIONS

    assert CONFIG_DIMENSIONS == CUSTOMER_DIMENSIONS
    words = set(revenue.COLUMNS) | set(orders.COLUMNS) | set(OUTPUT) | {"period", "month"}
    words |= {name for agg in AGGREGATES.values() for name in agg}
    assert words <= METRIC_WORDS


def test_patron_check_reports_attribute_problems_and_bad_values_in_the_sample(tmp_path):
    write(tmp_path / "c.csv", "id,name,age\n1,Ann,forty\n2,Bob,x\n3,Cy,30\n")
    data = {"sources": {"crm": {"path": "c.csv", "table": "customers", "customer_ref": "id",
                                "attributes": {"age": {"column": "age", "type": "int"}, "tier": "Tier"}}}}
    yml = write(tmp_path / "patron.yml", yaml.safe_dump(data))
    problems = Project.check(yml).problems
    assert problems == ["sources.crm: c.csv: column 'Tier' (for attributes.tier) not in the file; its columns are: "
                        "id, name, age"]
    del data["sources"]["crm"]["attributes"]["tier"]
    yml.write_text(yaml.safe_dump(data))
    assert Project.check(yml).problems == [
        "sources.crm: 67% of the first 3 rows of c.csv would be rejected (at most 50% may be): attributes.age: not a "
        "whole number (2 rows)"]
    data["sources"]["crm"]["attributes"]["segment"] = "age"
    yml.write_text(yaml.safe_dump(data))
    assert Project.check(yml).problems == [
        "sources.crm.attributes.segment: segment is a customer dimension of the golden record; map it under columns: "
        "(segment: age) where the table has it"]


def test_attributes_leave_the_demo_company_as_it_was(demo_dir, demo_loaded, tmp_path):
    """The demo's sources with attributes added load every canonical row, quarantine and count as
    without them; revenue sliced by an attribute adds up to revenue."""
    _, plain_db, plain = demo_loaded
    data = yaml.safe_load((demo_dir / "patron.yml").read_text())
    data["sources"]["crm_accounts"]["attributes"] = {"sector": "Industry", "crm_segment": "Segment"}
    data["sources"]["billing_subscriptions"]["attributes"] = {"term": {"column": "term_months", "type": "int"}}
    cfg = parse_project(data, root=demo_dir)
    with Project(cfg, tmp_path / "w.duckdb") as project:
        result = project.ingest()
        assert [(f.file, f.read, f.loaded, f.quarantined) for f in result.files] == [
            (f.file, f.read, f.loaded, f.quarantined) for f in plain.files]
        mine = {t: _print(project.warehouse, t) for t in (*_canonical(), "quarantine")}
        kept = project.warehouse.df("SELECT source, name, count(*) AS n FROM customer_attributes GROUP BY ALL")
        customers = project.warehouse.scalar("SELECT count(*) FROM customers WHERE source = 'crm_accounts'")
        project.identity.resolve()
        catalog = catalog_of(project)
        whole = evaluate(project.warehouse, catalog["mrr"], [], "month", catalog=catalog, store=False)
        sliced = evaluate(project.warehouse, catalog["mrr"], ["sector"], "month", catalog=catalog, store=False)
    with Project.open(None, plain_db) as before:
        theirs = {t: _print(before.warehouse, t) for t in mine}
    assert mine == theirs
    assert dict(zip(kept["name"], kept["n"], strict=True))["sector"] == customers
    assert set(kept["source"]) == {"crm_accounts", "billing_subscriptions"}
    total = sliced.groupby("period")["value"].sum()
    assert total.to_numpy() == pytest.approx(whole.set_index("period").loc[total.index, "value"].to_numpy())
    assert sliced["sector"].notna().mean() > 0.9  # most paying customers are CRM accounts with an industry


def _canonical() -> tuple[str, ...]:
    from patron.model import TABLES

    return tuple(TABLES)


def _print(wh, table: str) -> tuple[int, int]:
    """Rows and a sum of their hashes, the time each row was written left out."""
    cols = ", ".join(f'"{c}"' for c in wh.columns(table) if c not in ("loaded_at", "quarantined_at"))
    return wh.rows(f"SELECT count(*), coalesce(sum(hash(row({cols}))), 0) FROM {table}")[0]
