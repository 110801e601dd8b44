"""patron.yml: every problem is reported at once, each naming its key."""

from __future__ import annotations

import re

import pytest

from conftest import write
from patron.config import ConfigProblems, load_project, parse_project
from patron.errors import ConfigError


def test_every_mapping_problem_is_reported_together():
    data = {
        "sources": {
            "crm": {"path": "a.csv", "table": "customer"},
            "billing": {"path": "b.csv", "table": "subscriptions", "columns": {"price": "Price"},
                        "values": {"tier": {"A": "a"}}, "key": ["nope"], "date_format": "dd/mm/yyyy",
                        "encoding": "cp1252"},
            "social": {"path": "c.csv", "table": "costs", "customer_ref": "Acct"},
            "survey": {"path": "d.csv", "table": "responses", "colums": {}},
            "notes": {"path": "e.csv", "table": "feedback", "columns": {"customer_id": "Id"}},
        },
        "journey": [{"stage": "a", "touchpoints": ["x"]}, {"stage": "b", "touchpoints": ["x"]}],
    }
    with pytest.raises(ConfigProblems) as e:
        parse_project(data)
    # pydantic shape errors come first (all of them), then the semantic checks
    assert e.value.problems == ["sources.survey.colums: unknown key — did you mean 'columns'?"]
    del data["sources"]["survey"]
    with pytest.raises(ConfigProblems) as e:
        parse_project(data)
    got = "\n".join(e.value.problems)
    for expected in (
        "sources.crm.table: unknown table 'customer'",
        "sources.billing.columns.price: subscriptions has no column 'price'",
        "sources.billing.values.tier: subscriptions has no column 'tier'",
        "sources.billing.key: subscriptions has no column 'nope'",
        "sources.billing.date_format: 'dd/mm/yyyy' is not a strptime format",
        "sources.billing.encoding: 'cp1252' is not supported",
        "sources.social.customer_ref: table costs has no customer_ref",
        "sources.notes.columns.customer_id: customer_id is set by identity resolution",
        "journey: touchpoint 'x' is in both 'a' and 'b'",
    ):
        assert expected in got
    assert len(e.value.problems) == 9


def test_yaml_syntax_error_names_the_line(tmp_path):
    f = write(tmp_path / "patron.yml", "sources:\n  crm:\n    path: [a.csv\n")
    with pytest.raises(ConfigError, match=r"patron.yml: line \d+, column \d+: invalid YAML"):
        load_project(f)


def test_missing_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="not found; run `patron init`"):
        load_project(tmp_path / "patron.yml")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_project(write(tmp_path / "patron.yml", "- just\n- a list\n"))


def test_the_init_template_and_the_demo_file_are_valid(tmp_path):
    from importlib import resources

    from patron.demo.project_file import project_yaml

    template = resources.files("patron").joinpath("project_template.yml").read_text()
    assert load_project(write(tmp_path / "t.yml", template)).sources == {}
    demo = load_project(write(tmp_path / "d.yml", project_yaml()))
    assert len(demo.sources) == 16 and demo.touchpoint_stage()["implementation"] == "onboard"


def test_a_taxonomy_theme_needs_keywords(tmp_path):
    write(tmp_path / "patron.yml", "listen:\n  taxonomy:\n    Billing: [invoice, refund]\n    Empty: []\n")
    with pytest.raises(ConfigProblems, match="themes without keywords or examples: Empty"):
        load_project(tmp_path / "patron.yml")


def test_a_taxonomy_theme_takes_keywords_or_examples(tmp_path):
    write(tmp_path / "patron.yml", "listen:\n  taxonomy:\n    Billing: [invoice, refund]\n"
          "    Outages:\n      examples: [the app was down all morning]\n"
          "    Onboarding:\n      keywords: [kickoff]\n      examples: [setup took weeks]\n")
    taxonomy = load_project(tmp_path / "patron.yml").listen.taxonomy
    assert taxonomy["Billing"].keywords == ["invoice", "refund"] and taxonomy["Billing"].examples == []
    assert taxonomy["Outages"].examples == ["the app was down all morning"]
    assert taxonomy["Onboarding"].keywords == ["kickoff"] and taxonomy["Onboarding"].examples == ["setup took weeks"]
    write(tmp_path / "patron.yml", "listen:\n  taxonomy:\n    Billing:\n      words: [invoice]\n")
    with pytest.raises(ConfigProblems, match="words"):
        load_project(tmp_path / "patron.yml")


@pytest.mark.parametrize(("entries", "message"), [
    ("    Billing: invoice\n", "Billing: give a list of keywords ([invoice])"),
    ("    Billing: [invoice]\n    billing!: [refund]\n", "'Billing' and 'billing!' differ only in case"),
    ("    '!!!': [invoice]\n", "a theme name needs a letter or a digit"),
])
def test_a_taxonomy_that_cannot_work_is_refused_with_its_reason(tmp_path, entries, message):
    write(tmp_path / "patron.yml", "listen:\n  taxonomy:\n" + entries)
    with pytest.raises(ConfigProblems, match=re.escape(message)):
        load_project(tmp_path / "patron.yml")


def test_check_reads_the_metrics_section_too(tmp_path):
    from typer.testing import CliRunner

    from patron.cli.main import app

    (tmp_path / "patron.yml").write_text("metrics:\n  nsp: {owner: Ana}\n  nps: {value: 'score; DROP TABLE x'}\n")
    run = CliRunner().invoke(app, ["check", "--config", str(tmp_path / "patron.yml")], env={"COLUMNS": "200"})
    assert run.exit_code == 1
    assert "metrics.nsp: no such metric 'nsp' — did you mean 'nps'?" in run.output
    assert "metrics.nps.value: 'score; DROP TABLE x' holds a ';'" in run.output


def test_the_init_templates_commented_source_is_a_valid_source_when_uncommented(tmp_path):
    from importlib import resources

    template = resources.files("patron").joinpath("project_template.yml").read_text().splitlines()
    start = template.index("sources: {}")
    block = []
    for line in template[start + 1:]:
        if line.strip() == "#":
            break
        block.append(line[1:])
    cfg = parse_project({"sources": __import__("yaml").safe_load("\n".join(block))}, root=tmp_path)
    src = cfg.sources["crm_accounts"]
    assert src.filter and src.expressions == {"plan": "upper(Tier)"} and src.rollup == {"created_at": "min"}
    assert str(src.snapshot_date) == "2024-06-30" and src.max_line_size == 2_000_000


def _uncommented(template: list[str], line: str) -> str:
    """The commented block under `line` of the init template, uncommented (its first # taken off)."""
    block = []
    for text in template[template.index(line) + 1:]:
        if not text.startswith("#") or text.strip() == "#":
            break
        block.append(text[1:])
    return "\n".join(block)


def test_the_init_templates_attributes_and_predict_examples_are_valid_when_uncommented(tmp_path):
    """The source's attributes and the predict section, uncommented, load through the config model and
    pass `patron check`'s predict checks (the attributes they name are kept); so does the outcome example."""
    from importlib import resources

    import yaml

    from patron.project.predict import config_problems

    template = resources.files("patron").joinpath("project_template.yml").read_text().splitlines()
    sources = yaml.safe_load(_uncommented(template, "sources: {}"))
    predict = yaml.safe_load(_uncommented(template, "predict: {}"))
    cfg = parse_project({"sources": sources, "predict": predict}, root=tmp_path)
    attrs = cfg.sources["crm_accounts"].attributes
    assert attrs["employees"].type == "int" and attrs["closed"].type == "bool" and attrs["large"].expression
    assert attrs["buyer_phone"].is_personal("buyer_phone") and attrs["contract_type"].column == "Contract Type"
    assert cfg.predict.churn.attributes == ["contract_type"] and cfg.predict.health.red == 40
    assert cfg.predict.clv.lifetime_cap_months == 120 and config_problems(cfg) == []
    flag = yaml.safe_load(_uncommented(template, "predict: {}").replace("# outcome:", "outcome:"))
    cfg = parse_project({"sources": sources, "predict": flag}, root=tmp_path)
    assert cfg.predict.churn.outcome == "closed" and config_problems(cfg) == []
    # the whole template, both uncommented, is a valid patron.yml
    text = "\n".join(template).replace("sources: {}", "sources:\n" + _uncommented(template, "sources: {}")).replace(
        "predict: {}", "predict:\n" + _uncommented(template, "predict: {}"))
    assert load_project(write(tmp_path / "patron.yml", text)).predict.churn.attributes == ["contract_type"]
