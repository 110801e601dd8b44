"""Comments that read like people wrote them, with known sentiment and theme.

Each text is assembled from an optional opener, one or two theme sentences of the wanted
sentiment, and an optional closer, so the same (theme, sentiment) yields thousands of
different wordings. The choice is vectorised with NumPy; only the final join is Python.
"""

from __future__ import annotations

import numpy as np

THEMES = (
    "onboarding", "billing", "reliability", "support", "usability",
    "integrations", "pricing", "reporting", "login",
)
THEME_LABEL = {
    "onboarding": "Onboarding and setup", "billing": "Billing and invoices",
    "reliability": "Reliability and speed", "support": "Support experience",
    "usability": "Ease of use", "integrations": "Integrations", "pricing": "Price and value",
    "reporting": "Reports and dashboards", "login": "Sign-in and SSO",
}
SENTIMENTS = ("negative", "neutral", "positive")

# theme -> sentiment -> sentences
SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "onboarding": {
        "negative": (
            "Onboarding took weeks longer than we were promised",
            "the setup process was confusing and nobody told us what to do next",
            "our implementation stalled because the kickoff call never happened",
            "we are three months in and still not fully set up",
            "the onboarding checklist skipped half the steps we actually needed",
            "the migration of our old data was a mess",
        ),
        "neutral": (
            "Onboarding was fine, a bit slow in the middle",
            "the setup guide covers most things, we had to ask about a couple of steps",
            "implementation is about halfway done",
            "we are still importing our historical data",
        ),
        "positive": (
            "Onboarding was smooth and our team was live in a week",
            "the implementation manager walked us through every step",
            "setup was quicker than any tool we have rolled out before",
            "the kickoff session got everyone on the same page fast",
            "data migration went without a hitch",
        ),
    },
    "billing": {
        "negative": (
            "We were charged twice for the same month",
            "the invoice had seats we never ordered",
            "nobody can explain the extra charges on our last invoice",
            "billing sent the invoice to someone who left the company a year ago",
            "our card was charged after we asked to downgrade",
            "the refund we were promised still has not arrived",
        ),
        "neutral": (
            "We need the invoices to show our purchase order number",
            "can billing move our renewal date to the start of the quarter",
            "the invoice arrived, just checking the tax line",
            "please send future invoices to our accounts payable address",
        ),
        "positive": (
            "Billing is clear and the invoices are always right",
            "the finance team sorted out our invoice in one email",
            "switching to annual billing was painless",
            "love that the invoices break costs down by team",
        ),
    },
    "reliability": {
        "negative": (
            "The app has been painfully slow all week",
            "dashboards time out whenever we load more than a month of data",
            "we lost an afternoon of work during yesterday's outage",
            "pages hang for ten seconds before anything shows up",
            "the sync keeps failing overnight and we find out in the morning",
            "it crashed twice during our board presentation",
        ),
        "neutral": (
            "Performance is okay most days, slower at month end",
            "we noticed a short outage this morning, it seems fine now",
            "load times vary a lot depending on the report",
        ),
        "positive": (
            "The platform is fast and has not gone down once for us",
            "pages load instantly even with years of data",
            "rock solid, we never think about uptime anymore",
            "the new release made everything noticeably faster",
        ),
    },
    "support": {
        "negative": (
            "Support took four days to answer an urgent ticket",
            "every time we open a ticket we have to explain the problem from scratch",
            "the agent closed our ticket without fixing anything",
            "we were bounced between three people and still have no answer",
            "support keeps sending links to articles that do not apply",
            "no one called back even though it was marked urgent",
        ),
        "neutral": (
            "Support answered, we are waiting to see if the fix holds",
            "the ticket is still open, they asked for more logs",
            "chat support is available but the wait varies",
        ),
        "positive": (
            "Support fixed our issue within the hour",
            "the support team is patient, friendly and actually knows the product",
            "our agent followed up the next day to make sure it worked",
            "best support experience we have had with any vendor",
            "the chat team solved it while I was still on the call",
        ),
    },
    "usability": {
        "negative": (
            "The interface is cluttered and hard to find anything in",
            "my team gave up on the new editor because it is so confusing",
            "too many clicks to do the simplest thing",
            "the mobile view is basically unusable",
            "nobody on my team can figure out the permissions screen",
        ),
        "neutral": (
            "It takes some getting used to but it works",
            "the layout changed again, we are adjusting",
            "some screens are intuitive, others less so",
        ),
        "positive": (
            "So easy to use that my team needed no training",
            "the interface is clean and everything is where you expect it",
            "the new editor saves us a lot of clicks",
            "even our least technical people use it every day",
        ),
    },
    "integrations": {
        "negative": (
            "The Salesforce integration breaks every few weeks",
            "our data from the warehouse connector is always a day behind",
            "the Slack integration sends duplicate notifications",
            "the API rate limits make the integration useless for us",
            "we cannot connect our HR system even though it was on the sales slide",
        ),
        "neutral": (
            "We are testing the HubSpot connector this month",
            "is there a webhook for when a record changes",
            "the API docs cover what we need, mostly",
        ),
        "positive": (
            "The Salesforce integration just works",
            "the API is well documented and easy to build on",
            "connecting our warehouse took ten minutes",
            "the Slack alerts keep the whole team in the loop",
        ),
    },
    "pricing": {
        "negative": (
            "The price went up again and the value did not",
            "it is getting too expensive for a team our size",
            "the renewal quote was thirty percent higher than last year",
            "paying per seat makes no sense for occasional users",
            "we are looking at cheaper alternatives before renewal",
        ),
        "neutral": (
            "We are reviewing the cost at renewal as usual",
            "could we get a quote for adding another team",
            "pricing is in line with the other tools we looked at",
        ),
        "positive": (
            "Worth every penny for what it saves us",
            "fair pricing and no surprises at renewal",
            "the growth plan is great value for a team like ours",
            "it pays for itself in the time we save each month",
        ),
    },
    "reporting": {
        "negative": (
            "The reports do not match the numbers in our finance system",
            "exporting a report to Excel drops half the columns",
            "we cannot build the dashboard our leadership asks for",
            "scheduled reports stopped arriving last month",
            "the charts are wrong whenever a filter is applied",
        ),
        "neutral": (
            "We would like more chart types in the dashboards",
            "can reports be scheduled weekly instead of daily",
            "the reports cover the basics for our monthly review",
        ),
        "positive": (
            "The dashboards give our leadership exactly what they need",
            "reports are accurate and easy to share",
            "the new custom report builder is fantastic",
            "scheduled reports save me hours every Monday",
        ),
    },
    "login": {
        "negative": (
            "Nobody on our team can log in since this morning",
            "single sign-on keeps failing with an error",
            "I get logged out every few minutes",
            "the password reset email never arrives",
            "SSO broke after the update and we are locked out",
            "two-factor codes are rejected even when they are correct",
        ),
        "neutral": (
            "How do we turn on SSO for our workspace",
            "we need to add a second admin for the login settings",
            "is there a way to extend the session timeout",
        ),
        "positive": (
            "Setting up SSO took five minutes",
            "login with Google works perfectly for the whole team",
            "the new two-factor setup is quick and painless",
        ),
    },
}

OPENERS = {
    "negative": ("", "", "Honestly, ", "Frustrated. ", "Not happy: ", "Again, ", "To be blunt, ",
                 "Really disappointed. ", "This is the third time: ", "Ugh. "),
    "neutral": ("", "", "Quick note: ", "FYI ", "Question: ", "Hi team, ", "Small thing: ",
                "For what it's worth, "),
    "positive": ("", "", "Just wanted to say: ", "Great news, ", "Thank you! ", "Kudos: ",
                 "Really impressed. ", "Happy customer here. "),
}
CLOSERS = {
    "negative": ("", "", "", " Please fix this.", " This needs attention.",
                 " We are reconsidering our renewal.", " Very disappointing.",
                 " Not what we pay for.", " Someone please call me."),
    "neutral": ("", "", "", " Thanks.", " Let me know.", " Thanks in advance.", " Cheers."),
    "positive": ("", "", "", " Keep it up!", " Thanks a lot.", " Highly recommend.",
                 " Great job, team.", " Love it."),
}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def write_comments(themes: np.ndarray, sentiments: np.ndarray, rng: np.random.Generator) -> list[str]:
    """One text per (theme index, sentiment index); wording drawn at random."""
    n = len(themes)
    a, b, c, d, e = (rng.random(n) for _ in range(5))
    out: list[str] = []
    for i in range(n):
        theme = THEMES[themes[i]]
        sent = SENTIMENTS[sentiments[i]]
        pool = SENTENCES[theme][sent]
        first = pool[int(a[i] * len(pool))]
        body = _cap(first)
        if b[i] < 0.35 and len(pool) > 1:
            second = pool[(int(a[i] * len(pool)) + 1 + int(c[i] * (len(pool) - 1))) % len(pool)]
            body += (". Also, " if b[i] < 0.15 else ", and ") + second[:1].lower() + second[1:]
        opener = OPENERS[sent][int(d[i] * len(OPENERS[sent]))]
        closer = CLOSERS[sent][int(e[i] * len(CLOSERS[sent]))]
        text = opener + (body if not opener or opener.endswith(". ") or opener.endswith("! ")
                         else body[:1].lower() + body[1:]) + "."
        if theme == "billing" and sent != "positive" and c[i] < 0.2:
            text = text[:-1] + " (invoice INV-" + str(10000 + int(c[i] * 5e5)) + ")."
        out.append(text + closer)
    return out


def write_subjects(themes: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Short ticket subject lines."""
    subjects = {
        "onboarding": ("Help with setup", "Onboarding question", "Data import stuck", "Kickoff scheduling"),
        "billing": ("Invoice question", "Wrong charge", "Refund request", "Billing contact change"),
        "reliability": ("App very slow", "Outage?", "Sync failed", "Dashboard timing out"),
        "support": ("Follow-up on previous ticket", "Still waiting", "Escalation request"),
        "usability": ("How do I...", "Can't find setting", "Editor confusing"),
        "integrations": ("Salesforce sync broken", "API error 429", "Slack duplicates", "Connector help"),
        "pricing": ("Renewal quote", "Pricing question", "Seat count change"),
        "reporting": ("Report numbers wrong", "Export missing columns", "Scheduled report missing"),
        "login": ("Cannot log in", "SSO error", "Password reset not received", "2FA not working"),
    }
    pick = rng.random(len(themes))
    return [subjects[THEMES[t]][int(p * len(subjects[THEMES[t]]))] for t, p in zip(themes, pick, strict=True)]
