"""Output a person reads: every command's tables at 80 columns keep whole headers and never cut a
value to nothing, numbers never turn scientific, periods read as people name them, and customer
text is shown as written, never read as markup."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from patron.cli import render
from patron.cli.formats import cell, clip, number, partial_note, period_label, shown_of
from patron.cli.main import app

WIDTH = 80


def test_numbers_read_plainly():
    assert cell(16710.0) == "16,710" and cell(16710) == "16,710" and cell(1.5e-5) == "0.0000150"
    assert cell(None) == "" and cell(True) == "yes" and cell(float("nan")) == "–"
    assert cell(datetime(2026, 1, 2)) == "2026-01-02" and cell(datetime(2026, 1, 2, 9, 5)) == "2026-01-02 09:05"
    assert number(14_670_000.0, "currency") == "$14,670,000" and number(-12.4, "currency") == "-$12"
    assert number(0.0131, "share") == "1.3%" and number(7.06, "points") == "+7.1" and number(None, "share") == "–"
    assert number(6.475, "hours") == "6.5 h" and number(1671.0, "count") == "1,671"
    assert "e+" not in number(1.4e7, "count") + number(3.2e9, None)


def test_money_reads_in_the_data_currency():
    assert number(14_670_000.0, "currency", "GBP") == "£14,670,000" and number(-12.4, "currency", "EUR") == "-€12"
    assert number(1234.0, "currency", "chf") == "CHF 1,234" and number(None, "currency", "GBP") == "–"


def test_periods_read_as_people_name_them():
    assert period_label(date(2025, 1, 1), "month") == "2025-01"
    assert period_label(date(2025, 1, 13), "week") == "2025-W03"
    assert period_label(date(2025, 4, 1), "quarter") == "2025-Q2"
    assert period_label(date(2025, 1, 1), "year") == "2025"
    assert period_label(datetime(2025, 1, 14), "day") == "2025-01-14"
    as_of = date(2026, 12, 4)
    assert period_label(date(2026, 12, 1), "month", as_of) == "2026-12 (partial)"
    assert period_label(date(2026, 11, 1), "month", as_of) == "2026-11"
    assert period_label(date(2026, 11, 30), "week", as_of) == "2026-W49 (partial)"
    assert period_label(date(2026, 11, 1), "month", date(2026, 11, 30)) == "2026-11"  # its last day: complete
    note = partial_note(["2026-12 (partial)"], "month", as_of)
    assert "2026-12-04" in note and "day 4 of 31 of 2026-12" in note
    assert partial_note(["2026-11"], "month", as_of) is None


def test_limits_and_long_text_say_so():
    assert shown_of(30, 302) == "30 of 302 shown; --limit N for more" and shown_of(5, 5) is None
    assert clip("word " * 100, 40).endswith(" …") and len(clip("word " * 100, 40)) <= 42
    assert clip("short") == "short"


def _console() -> Console:
    return Console(width=WIDTH, file=io.StringIO(), record=True, color_system=None)


def test_a_wide_table_drops_whole_columns_and_says_which():
    con = _console()
    rows = [["Sign-in and SSO", "2026-11-14", "2026-11-16", 53, 13.04, "social 40, web 13", "Really disappointed. " * 6,
             "Customer Success Team"]]
    render.table("t", ["theme", "first day", "last day", "texts", "expected", "channels", "example", "owner"], rows,
                 {"texts", "expected"}, drop=["channels"], console=con)
    text = con.export_text()
    assert "channels" not in text.splitlines()[2]  # the header row
    assert "Not shown at 80 columns: channels" in text
    assert all(len(line) <= WIDTH for line in text.splitlines())


def test_customer_text_is_never_markup():
    con = _console()
    render.table("[red]title[/red]", ["name", "text"], [["[bold]Acme[/bold]", "see [link=http://x]here[/link]"]],
                 console=con)
    render.say("[blink]hello[/blink]", console=con)
    text = con.export_text()
    assert "[red]title[/red]" in text and "[bold]Acme[/bold]" in text and "[link=http://x]here[/link]" in text
    assert "[blink]hello[/blink]" in text


def test_the_customer_360_shows_names_and_texts_as_written(monkeypatch):
    from patron.cli import customer
    from patron.report.customer360 import Customer360

    con = _console()
    monkeypatch.setattr(customer, "out", con)
    monkeypatch.setattr(render, "out", con)
    view = Customer360("C0000001", {"name": "[bold]Acme[/] Ltd", "records": 1, "domain": "acme.com"},
                       [{"system": "crm", "ref": "A[1]", "method": "rule"}], [], [{"month": "2026-01", "mrr": 10.0}],
                       [], [], [], [], [{"received_at": "2026-01-02", "channel": "web", "text": "[i]slow[/i]"}],
                       0, 1)
    customer.render_360(view)
    text = con.export_text()
    assert "[bold]Acme[/] Ltd" in text and "A[1]" in text and "[i]slow[/i]" in text


# every command that prints a table, run on the demo company in an 80-column terminal
COMMANDS = [
    ["status"], ["quarantine"], ["quarantine", "--rows"], ["ingest"],
    ["identity", "resolve"], ["identity", "review"],
    ["metrics", "list"], ["metrics", "run"], ["metrics", "show", "mrr"], ["metrics", "show", "nps"],
    ["metrics", "show", "csat", "--by", "touchpoint", "--period", "month"],
    ["metrics", "show", "grr_monthly", "--by", "cohort_month"], ["metrics", "show", "nps", "--period", "week"],
    ["metrics", "show", "tickets", "--by", "segment", "--by", "region", "--period", "quarter"],
    ["listen", "enrich"], ["listen", "themes"], ["listen", "trends"],
    ["listen", "trends", "--by", "channel", "--period", "day"], ["listen", "touchpoints"], ["listen", "spikes"],
    ["keys", "create", "widget"], ["keys", "list"],
    ["customer", "show", "ACC-0000530981"], ["customer", "show", "Systems"],
    ["generate", "--customers", "50", "--out", "small-co", "--usage-days", "5"],
    ["risk"], ["risk", "--by", "owner"], ["risk", "--by", "segment", "--bands"], ["renewals"],
    ["renewals", "--by", "owner"],
]


class _Recorded(Table):
    made: list[Table] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _Recorded.made.append(self)


def _columns(t: Table) -> tuple[list[str], list[list[str]]]:
    return [str(c.header) for c in t.columns], [[c.plain for c in col.cells] for col in t.columns]


def check_table(t: Table) -> None:
    """Rendered at 80 columns: no line wider, every header whole on its line, every value found whole
    (wrapped lines joined) in its own column, in order."""
    con = _console()
    con.print(t)
    lines = con.export_text().splitlines()
    assert all(len(line) <= WIDTH for line in lines), lines
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    rule = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    edges = [i for i, ch in enumerate(lines[rule]) if ch in "┡╇┩"]
    headers, cells = _columns(t)
    for k, header in enumerate(headers):
        shown = [line[edges[k] + 1:edges[k + 1]].strip() for line in lines[top + 1:rule]]
        assert header in shown, f"header {header!r} is not whole: {shown}"
        body = "".join("".join(line[edges[k] + 1:edges[k + 1]].split())
                       for line in lines[rule + 1:] if line.startswith("│"))
        at = 0
        for value in cells[k]:
            squeezed = "".join(value.split())
            found = body.find(squeezed, at)
            assert found >= 0, f"{header}: {value!r} is cut in\n" + "\n".join(lines)
            at = found + len(squeezed)


@pytest.fixture(scope="module")
def runs(demo_project, tmp_path_factory):
    """Each command's tables, as the command built them for an 80-column terminal."""
    import shutil

    root = tmp_path_factory.mktemp("narrow")
    shutil.copytree(demo_project / "patron-demo", root / "patron-demo")
    mp = pytest.MonkeyPatch()
    mp.chdir(root / "patron-demo")
    mp.setattr(render, "out", Console(width=WIDTH, file=io.StringIO()))
    mp.setattr(render, "Table", _Recorded)
    made = {}
    try:
        for args in COMMANDS:
            _Recorded.made = []
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, (args, result.output, result.exception)
            made[" ".join(args)] = list(_Recorded.made)
    finally:
        mp.undo()
    return made


@pytest.mark.parametrize("args", [" ".join(a) for a in COMMANDS])
def test_every_table_reads_at_80_columns(runs, args):
    assert runs[args] or args in ("keys create widget",), f"{args}: printed no table"
    for t in runs[args]:
        check_table(t)


def test_terminal_control_sequences_in_customer_text_never_reach_the_terminal():
    import io

    from rich.console import Console

    from patron.cli.render import say, table

    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=True, color_system=None)
    hostile = "\x1b[2J\x1b[31mRED\x1b[0m \x1b]0;pwned\x07 rlo\u202eevil nul\x00 [red]markup[/]"
    table("t", ["text"], [[hostile]], console=console)
    say(hostile, console=console)
    shown = buf.getvalue()
    assert "\x1b[2J" not in shown and "\x1b]0;" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert "[red]markup[/]" in shown and "RED" in shown


def test_the_360_counts_months_in_the_singular_for_one_and_says_when_the_contract_renews(monkeypatch):
    from patron.cli import customer
    from patron.report.customer360 import Customer360

    con = _console()
    monkeypatch.setattr(customer, "out", con)
    monkeypatch.setattr(render, "out", con)
    view = Customer360("C0000001", {"name": "Acme", "records": 1}, [], [], [], [], [], [], [], [], 0, 0)
    view.value = {"as_of": "2026-06-30", "value": 100.0, "subscription_value": 100.0, "expected_months": 1.2}
    view.risk = {"as_of": "2026-06-30", "horizon_months": 1, "probability": 0.3, "band": "high", "arr": 1200.0,
                 "at_stake": 360.0, "reasons": [], "details": {"months_to_renewal": 1}, "months_to_renewal": 1,
                 "term_months": 12}
    customer.render_360(view)
    text = " ".join(con.export_text().split())
    assert "over 1 expected month." in text and "within 1 month," in text
    assert "Its contract renews in 1 month." in text
    view.risk |= {"months_to_renewal": 1, "term_months": 1, "arr": None, "at_stake": None, "horizon_months": None}
    con = _console()
    monkeypatch.setattr(customer, "out", con)
    monkeypatch.setattr(render, "out", con)
    customer.render_360(view)
    text = " ".join(con.export_text().split())
    assert "Its contract is monthly." in text and "no revenue known" in text and "likely to leave" in text
