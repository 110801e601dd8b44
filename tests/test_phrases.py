"""Theme names on small made-up groups of texts: a name is a phrase the group's texts use, typical
of them and rare elsewhere, unique, and spelled the way the texts spell it."""

from __future__ import annotations

import random

from patron.listen.phrases import MIN_TEXTS, names, pattern

FILLER = ["Please look into it.", "We rely on this every day.", "Thanks in advance.", "It has been like this a while.",
          "Our admins noticed it first.", ""]
# every group mentions the customer portal: a phrase all of them use names none of them
GROUPS = {
    "slack": ["The Slack integration sends duplicate notifications.", "Our Slack integration stopped posting.",
              "Since Monday the Slack integration posts to the wrong channel.", "Can the Slack integration mute bots?"],
    "renewal": ["The renewal price went up thirty percent.", "Is the renewal price negotiable for two years?",
                "Our renewal price doubled with no warning.", "Finance asks why the renewal price is higher."],
    "onboarding": ["The onboarding checklist skips the import step.", "Who owns the onboarding checklist?",
                   "Our onboarding checklist was out of date.", "The onboarding checklist never loads for new staff."],
    "layout": ["The layout changed again overnight.", "Honestly the layout changed and nobody told us.",
               "The layout changed, the buttons moved again.", "Why has the layout changed twice this month?"],
}


def _corpus(groups: dict[str, list[str]], per_group: int = 40, seed: int = 0) -> tuple[list[str], list[str | None]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, lines in groups.items():
        for i in range(per_group):
            texts.append(" ".join(filter(None, [lines[i % len(lines)], "We log in through the customer portal.",
                                                rng.choice(FILLER)])))
            labels.append(label)
    for _ in range(30):  # texts of no group
        texts.append(f"The customer portal is fine. {rng.choice(FILLER)}")
        labels.append(None)
    return texts, labels


def test_a_name_is_the_phrase_its_group_uses_and_the_others_do_not():
    texts, labels = _corpus(GROUPS)
    got = names(texts, labels, list(GROUPS))
    assert got == {"slack": "Slack integration", "renewal": "Renewal price", "onboarding": "Onboarding checklist",
                   "layout": "Layout"}  # not "layout changed": a verb does not end a name
    for group, name in got.items():
        mine = [t for t, lab in zip(texts, labels, strict=True) if lab == group]
        assert sum(bool(pattern(name).search(t)) for t in mine) >= MIN_TEXTS


def test_a_phrase_every_group_uses_names_none_of_them():
    texts, labels = _corpus(GROUPS)
    got = names(texts, labels, list(GROUPS))
    assert not any("portal" in n.lower() for n in got.values())  # in every text, so in no way distinctive


def test_names_are_unique_and_leave_names_already_taken_alone():
    twins = {"a": GROUPS["slack"], "b": GROUPS["slack"][::-1], "c": GROUPS["renewal"]}
    texts, labels = _corpus(twins)
    got = names(texts, labels, list(twins), taken={"Renewal prices"})
    assert len({n.lower() for n in got.values()}) == len(got)
    assert "slack integration" in {n.lower() for n in got.values()}
    assert "renewal price" not in {n.lower() for n in got.values()}  # taken, in whichever number


def test_a_name_is_spelled_as_the_texts_spell_it():
    groups = {"sso": ["Our SSO login fails.", "SSO is down for the sales team.", "The SSO setup page errors."],
              "phone": ["The app crashes on my iPhone.", "Playback stops on the iPhone.", "My iPhone shows no lyrics."]}
    texts, labels = _corpus(groups)
    got = names(texts, labels, list(groups))
    assert got["sso"].startswith("SSO") and got["phone"] == "iPhone"


def test_a_group_with_no_noun_phrase_is_named_by_its_own_words():
    groups = {"thanks": ["Thank you so much!", "Thank you!", "ok thank you", "Thank you, that did it."],
              "slack": GROUPS["slack"]}
    texts = [t for label, lines in groups.items() for t in lines * 10]
    labels = [label for label, lines in groups.items() for _ in lines * 10]
    got = names(texts, labels, list(groups))
    assert got["thanks"] == "Thank you" and got["slack"] == "Slack integration"


def test_a_group_too_small_for_a_phrase_gets_no_name():
    texts = ["Slack integration broke.", "Renewal price rose."] * 2 + ["Something else entirely"] * 10
    labels = ["a", "b"] * 2 + [None] * 10
    assert names(texts, labels, ["a", "b"]) == {}  # the caller falls back on the theme's top words


def test_a_name_holds_what_defines_the_group_rather_than_a_detail_all_its_texts_share():
    groups = dict(GROUPS) | {"support": ["Friendly support answered within the hour.",
                                         "The support team replied within the hour, patient as always.",
                                         "Patient support, within the hour, problem solved.",
                                         "Within the hour our support agent had it fixed."]}
    texts, labels = _corpus(groups)
    got = names(texts, labels, list(groups), about={"support": {"support": 1.0, "patient": 0.4, "hour": 0.1}})
    assert "support" in got["support"].lower(), got["support"]
