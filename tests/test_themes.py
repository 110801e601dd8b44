"""Themes on the demo company: they recover the planted topics, few texts are left out, and
their ids stay put when the pipeline runs again on more data."""

from __future__ import annotations

import shutil

import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from patron.listen.themes import discover
from patron.project import Project

ASSIGNED = (
    "SELECT x.source, x.source_key, tt.theme_id FROM text_themes AS tt JOIN ("
    "SELECT 'responses' AS t, response_id AS id, source, source_key FROM responses UNION ALL "
    "SELECT 'tickets', ticket_id, source, source_key FROM tickets UNION ALL "
    "SELECT 'feedback', feedback_id, source, source_key FROM feedback) AS x "
    "ON x.t = tt.source_table AND x.id = tt.item_id")


def _copy(demo_loaded, tmp_path, name):
    config, db, _ = demo_loaded
    shutil.copy(db, tmp_path / name)
    return Project.open(config, tmp_path / name, require_config=True)


def test_themes_recover_the_planted_topics_and_leave_few_texts_out(demo_loaded, demo_dir, tmp_path):
    with _copy(demo_loaded, tmp_path, "w.duckdb") as project:
        project.identity.resolve()  # ARR per theme needs to know whose texts they are
        project.listen.enrich()
        result, table = project.listen.themes()
        assigned = project.warehouse.df(ASSIGNED)
    assert 5 <= len(result.themes) <= 25 and result.unthemed_share < 0.1
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    joined = truth.merge(assigned, on=["source", "source_key"])
    assert normalized_mutual_info_score(joined["theme"], joined["theme_id"]) > 0.6
    assert not table["new"].any()  # a first run has nothing to compare with: no theme is "new"
    billing = table[table["name"].str.contains("invoice|billing|refund")].iloc[0]
    assert billing["sentiment"] < 0 and billing["complaints"] > 0 and billing["arr"] > 0
    assert abs(table["share"].sum() - (1 - result.unthemed_share)) < 1e-9


def test_theme_ids_survive_a_run_on_more_data(demo_loaded, tmp_path):
    with _copy(demo_loaded, tmp_path, "half.duckdb") as half:
        wh = half.warehouse
        wh.execute("DELETE FROM feedback WHERE hash(feedback_id) % 2 = 0")
        wh.execute("DELETE FROM responses WHERE hash(response_id) % 2 = 0")
        first = discover(wh)
        stored = wh.rows("SELECT * FROM themes")
    with _copy(demo_loaded, tmp_path, "full.duckdb") as full:
        wh = full.warehouse
        for row in stored:
            wh.execute(f"INSERT INTO themes VALUES ({', '.join('?' * len(row))})", list(row))
        again = discover(wh, seed=1)
    kept = {t.theme_id for t in again.themes} & {t.theme_id for t in first.themes}
    assert len(kept) >= 0.8 * len(first.themes)
    names = {t.theme_id: t.name for t in first.themes}
    assert all(t.name == names[t.theme_id] for t in again.themes if t.theme_id in kept)


def test_the_briefing_shows_top_themes_and_recent_spikes(demo_loaded, tmp_path):
    from patron.report import build, render_html

    with _copy(demo_loaded, tmp_path, "b.duckdb") as project:
        project.listen.enrich()
        project.listen.themes()
        b = build(project.warehouse, project.metrics.catalog())
    assert 0 < len(b.themes) <= 8 and b.themes[0][2] >= b.themes[-1][2]  # by volume
    html = render_html(b)
    assert "What customers write about" in html and "Spikes in the last 30 days" in html


def test_the_planted_spike_is_found_within_a_day_and_little_else_is(demo_loaded, demo_dir, tmp_path):
    import json
    from datetime import date, timedelta

    from patron.listen.spikes import daily, detect

    planted = json.loads((demo_dir / "truth" / "planted.json").read_text())["spike"]
    start = date.fromisoformat(planted["first_day"])
    with _copy(demo_loaded, tmp_path, "s.duckdb") as project:
        project.listen.enrich()
        project.listen.themes()
        alerts = detect(project.warehouse)
        counts = daily(project.warehouse)
    found = [a for a in alerts if a.theme_id == f"channel:{planted['channel']}"
             and start <= a.first_day <= start + timedelta(days=1)]
    assert found, [(a.name, str(a.first_day)) for a in alerts]
    assert found[0].observed > 2 * found[0].expected and found[0].examples
    # the demo's patron.yml names the sign-in theme in its taxonomy, so the theme itself alerts too
    named = [a for a in alerts if a.name == "Sign-in and SSO" and start <= a.first_day <= start + timedelta(days=1)]
    assert named and named[0].channels.get(planted["channel"], 0) > named[0].observed / 2
    others = [a for a in alerts if not (start <= a.first_day <= date.fromisoformat(planted["last_day"]))]
    quarters = (len(counts) - 28) / 91
    assert len(others) <= counts.shape[1] * quarters  # at most one false alert per series per quarter
    from patron.listen.spikes import store

    with Project.open(None, tmp_path / "s.duckdb") as again:
        assert store(again.warehouse, alerts) == len(alerts)
        assert store(again.warehouse, alerts) == 0  # kept once, however often detection runs
        assert again.warehouse.scalar("SELECT count(*) FROM alerts") == len(alerts)


def test_a_taxonomy_names_the_themes_its_keywords_find(demo_loaded, demo_dir, tmp_path):
    with _copy(demo_loaded, tmp_path, "x.duckdb") as project:
        result = discover(project.warehouse, taxonomy={"Sign-in and SSO": ["sso", "single sign-on", "password",
                                                                           "log in", "two-factor"]})
        assigned = project.warehouse.df(ASSIGNED)
    sign_in = next(t for t in result.themes if t.name == "Sign-in and SSO")
    assert sign_in.theme_id == "tax:sign-in-and-sso" and sign_in.items > 0 and not sign_in.new
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    joined = truth.merge(assigned, on=["source", "source_key"])
    mine = joined["theme_id"] == sign_in.theme_id
    assert (joined.loc[mine, "theme"] == "login").mean() > 0.95  # what the keywords find is sign-in talk


def test_taxonomy_examples_name_the_discovered_themes_they_fall_into(demo_loaded, demo_dir, tmp_path):
    taxonomy = {"Billing": {"examples": ["We got billed twice this month and the invoice is wrong",
                                         "Please send the invoice to our finance team"]},
                "Quantum": {"examples": ["zebra quantum entanglement"]}}
    with _copy(demo_loaded, tmp_path, "ex.duckdb") as project:
        result = discover(project.warehouse, taxonomy=taxonomy)
        assigned = project.warehouse.df(ASSIGNED)
        again = discover(project.warehouse, seed=1, taxonomy=taxonomy)
    billing = next(t for t in result.themes if t.name == "Billing")
    assert billing.theme_id == "tax:billing" and billing.items > 0 and billing.terms and billing.examples
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    joined = truth.merge(assigned, on=["source", "source_key"])
    mine = joined["theme_id"] == "tax:billing"
    # discovery may fold pricing talk into the billing theme on some draws (0.78 billing, the rest
    # pricing, on the current demo; 1.00 on others): the example names money talk, nothing else
    assert (joined.loc[mine, "theme"] == "billing").mean() > 0.75
    assert joined.loc[mine, "theme"].isin(["billing", "pricing"]).mean() > 0.95
    assert mine[joined["theme"] == "billing"].mean() > 0.7  # 0.87 when measured
    assert not any("billing" in t.name for t in result.themes if not t.theme_id.startswith("tax:"))
    assert any(t.theme_id == "tax:billing" and t.items for t in again.themes)  # found again, same id
    assert any("Quantum" in n and "no discovered theme" in n for n in result.notes)


def test_a_theme_talked_about_only_lately_is_emerging(demo_loaded, tmp_path):
    from datetime import timedelta

    from patron.listen.themes import summary

    with _copy(demo_loaded, tmp_path, "e.duckdb") as project:
        wh = project.warehouse
        last = wh.scalar("SELECT max(received_at) FROM feedback")
        posts = "\n".join(f"ai{i},web,{(last - timedelta(days=i % 10)).isoformat()},The new AI assistant "
                          f"invents answers to our questions {i}" for i in range(40))
        (tmp_path / "ai.csv").write_text("feedback_id,channel,received_at,text\n" + posts + "\n")
        project.ingest.file(tmp_path / "ai.csv", "feedback")
        project.listen.enrich()
        discover(wh, taxonomy={"AI assistant": ["ai assistant"]})
        table = summary(wh).set_index("name")
    ai = table.loc["AI assistant"]
    assert ai["emerging"] and ai["last_period"] == 40 and ai["period_before"] == 0
    assert table["emerging"].sum() <= 2  # steady themes are not emerging


def test_a_file_from_before_keywords_had_their_column_still_reads_its_taxonomy(tmp_path):
    from patron.listen.themes import assign_new

    with Project.open(None, tmp_path / "old.duckdb") as project:  # a file as an earlier patron left it
        wh = project.warehouse
        wh.execute("ALTER TABLE themes DROP COLUMN keywords")
        wh.execute("ALTER TABLE themes DROP COLUMN top_words")
        wh.execute("INSERT INTO themes VALUES ('tax:sign-in', 'Sign-in', '{\"sso\": 1.0}', '[]', 0, now(), now())")
    (tmp_path / "f.csv").write_text("feedback_id,channel,received_at,text\nf1,web,2026-01-05,Our SSO broke again\n")
    with Project.open(None, tmp_path / "old.duckdb") as project:
        wh = project.warehouse
        assert "keywords" in wh.columns("themes")
        project.ingest.file(tmp_path / "f.csv", "feedback")
        assert assign_new(wh) == 1
        assert wh.rows("SELECT theme_id FROM text_themes") == [("tax:sign-in",)]


def _theme_texts(wh) -> pd.DataFrame:
    """Every text with the theme it was put in."""
    from patron.listen.themes import _texts

    texts = _texts(wh)
    assigned = wh.df("SELECT source_table, item_id, theme_id FROM text_themes")
    return texts.merge(assigned, on=["source_table", "item_id"])


def test_themes_are_named_by_distinct_phrases_of_their_texts_and_shown_by_typical_texts(demo_loaded, tmp_path):
    from patron.listen.phrases import pattern

    with _copy(demo_loaded, tmp_path, "n.duckdb") as project:
        result = discover(project.warehouse, taxonomy={"Sign-in and SSO": ["sso", "password", "log in"]})
        texts = _theme_texts(project.warehouse)
        stored = dict(project.warehouse.rows("SELECT theme_id, top_words FROM themes"))
    found = [t for t in result.themes if not t.theme_id.startswith("tax:")]
    assert len({t.name.lower() for t in result.themes}) == len(result.themes)  # unique, yours included
    assert "Sign-in and SSO" in {t.name for t in result.themes}  # your taxonomy's names win
    for t in found:
        mine = texts.loc[texts["theme_id"] == t.theme_id, "text"]
        assert " / " not in t.name and 1 <= len(t.name.split()) <= 4
        assert mine.str.contains(pattern(t.name)).sum() >= 3  # a phrase its own texts use
        assert stored[t.theme_id] == t.top_words and t.top_words.count(" / ") == 2  # the second line
        assert t.examples and set(t.examples) <= set(mine)  # typical texts are the theme's own
    # a phrase is distinctive: none names a theme whose texts use it less than the rest do
    everywhere = texts["text"]
    for t in found:
        mine = texts["theme_id"] == t.theme_id
        used = everywhere.str.contains(pattern(t.name))
        assert used[mine].mean() > 2 * used[~mine].mean()


def test_a_theme_named_by_its_top_words_in_an_older_file_gets_a_phrase_name_once(demo_loaded, tmp_path):
    with _copy(demo_loaded, tmp_path, "old.duckdb") as project:
        wh = project.warehouse
        first = discover(wh)
        wh.execute("UPDATE themes SET name = 'top / words / ' || theme_id, top_words = NULL")  # as an older patron
        again = discover(wh, seed=1)
        third = discover(wh, seed=2)
    ids = {t.theme_id for t in first.themes}
    renamed = {t.theme_id: t.name for t in again.themes if t.theme_id in ids}
    assert len(renamed) >= 0.8 * len(ids) and not any(" / " in n for n in renamed.values())
    assert all(t.name == renamed[t.theme_id] for t in third.themes if t.theme_id in renamed)  # then it stays


def test_the_briefing_names_themes_over_their_top_words_and_escapes_their_texts(demo_loaded, tmp_path):
    from markupsafe import escape

    from patron.report import build, render_html

    with _copy(demo_loaded, tmp_path, "x.duckdb") as project:
        wh = project.warehouse
        project.listen.enrich()
        project.listen.themes()
        top = wh.scalar("SELECT theme_id FROM themes ORDER BY items DESC LIMIT 1")
        wh.execute("UPDATE themes SET examples = ? WHERE theme_id = ?", ['["<script>alert(1)</script> ok"]', top])
        b = build(wh, project.metrics.catalog())
    html = render_html(b)
    name, words, *_, examples = b.themes[0]
    assert words and examples == ["<script>alert(1)</script> ok"]
    assert str(escape(name)) in html and f'<div class="terms">{escape(words)}</div>' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; ok" in html


def test_a_name_your_taxonomy_takes_up_is_yours_alone(demo_loaded, tmp_path):
    with _copy(demo_loaded, tmp_path, "t.duckdb") as project:
        first = discover(project.warehouse)
        mine = next(t for t in first.themes if len(t.name.split()) == 1)
        # your theme finds no text, so the discovered one is found again: under another name
        again = discover(project.warehouse, seed=1, taxonomy={mine.name: ["no such word here"]})
    found = next(t for t in again.themes if t.theme_id == mine.theme_id)
    assert found.name.lower() != mine.name.lower()
    named = [t.theme_id for t in again.themes if t.name.lower() == mine.name.lower()]
    assert named == [f"tax:{mine.name.lower()}"]
    assert len({t.name.lower() for t in again.themes}) == len(again.themes)


def test_theme_arr_is_not_available_without_subscriptions_never_zero(demo_loaded, tmp_path):
    from patron.listen.themes import summary
    from patron.report import build, render_html

    with _copy(demo_loaded, tmp_path, "arr.duckdb") as project:
        project.identity.resolve()  # whose texts they are, so themes have customers with ARR
        project.listen.enrich()
        project.listen.themes()
        with_subs = summary(project.warehouse)
        project.warehouse.execute("DELETE FROM subscriptions")
        without = summary(project.warehouse)
        b = build(project.warehouse, project.metrics.catalog())
    assert with_subs["arr"].notna().all() and (with_subs["arr"] > 0).any()
    assert without["arr"].map(lambda v: v is None).all()  # not available, never $0
    assert b.themes and all(t[6] is None for t in b.themes)
    html = render_html(b)
    assert "not available: no subscriptions are loaded" in html and ">$0<" not in html
