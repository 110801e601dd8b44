"""The patron.yml that maps the demo company's exports: also a worked example of every option."""

from patron.demo.simulate import JOURNEY


def project_yaml() -> str:
    journey = "\n".join(
        f"  - stage: {stage}\n    touchpoints: [{', '.join(tps)}]" for stage, tps in JOURNEY.items()
    )
    return f"""\
# patron project file for the demo company. Paths are relative to this file.
warehouse: patron.duckdb

ingest:
  future_tolerance_days: 1

sources:
  # CRM: accounts and contacts, US dates, labels mapped to patron's values
  crm_accounts:
    system: crm
    path: exports/crm/accounts.csv
    table: customers
    customer_ref: Account ID
    columns:
      name: Account Name
      domain: Website
      segment: Segment
      region: Region
      industry: Industry
      owner: Account Owner
      created_at: Created Date
      phone: Phone
    date_format: "%m/%d/%Y"
    values:
      segment: {{SMB: smb, Mid-Market: mid_market, Enterprise: enterprise}}
      region: {{North America: north_america, EMEA: emea, APAC: apac, LATAM: latam}}
  crm_contacts:
    system: crm
    path: exports/crm/contacts.csv
    table: contacts
    customer_ref: Account ID
    columns: {{contact_id: Contact ID, name: Full Name, email: Email, phone: Phone, role: Title}}

  # billing: its own customer ids; one row per price period of a subscription
  billing_customers:
    system: billing
    path: exports/billing/customers.csv
    table: customers
    customer_ref: id
    columns: {{name: company, email: email, created_at: created}}
  billing_subscriptions:
    system: billing
    path: exports/billing/subscriptions.csv
    table: subscriptions
    customer_ref: customer
    columns:
      start_date: period_start
      end_date: period_end
      renewal_date: renews_on
  billing_orders:
    system: billing
    path: exports/billing/orders.csv
    table: orders
    customer_ref: customer

  # helpdesk: organisations and tickets (JSON lines)
  helpdesk_orgs:
    system: helpdesk
    path: exports/helpdesk/organizations.csv
    table: customers
    customer_ref: organization_id
    columns: {{domain: domain_names}}
  helpdesk_tickets:
    system: helpdesk
    path: exports/helpdesk/tickets.jsonl
    table: tickets
    customer_ref: organization_id
    columns:
      ticket_id: id
      contact_email: requester_email
      opened_at: created_at
      first_response_at: first_reply_at
      resolved_at: solved_at
      channel: via
      category: type
      body: description
      csat: satisfaction_score

  # survey tool: NPS, CSAT and CES in one export, European dates; its Account column holds CRM ids
  survey_responses:
    system: crm
    path: exports/surveys/responses.csv
    table: responses
    customer_ref: Account
    columns:
      response_id: Response ID
      survey: Survey
      score: Score
      submitted_at: Recorded Date
      contact_email: Email
      touchpoint: Touchpoint
      journey_stage: Stage
      channel: Channel
      comment: Comment
    date_format: "%d/%m/%Y %H:%M"
    values:
      survey: {{NPS: nps, CSAT: csat, CES: ces}}

  # listening pipes
  feedback_web:
    system: product
    path: exports/feedback/web_widget.jsonl
    table: feedback
    customer_ref: workspace
    columns: {{feedback_id: id, author: user_email, received_at: created, text: message, rating: stars}}
    constants: {{channel: web}}
  feedback_social:
    path: exports/feedback/social_mentions.csv
    table: feedback
    columns: {{feedback_id: post_id, author: handle, received_at: posted_at}}
    constants: {{channel: social}}
  feedback_reviews:
    path: exports/feedback/reviews.parquet
    table: feedback
    columns: {{feedback_id: review_id, author: reviewer, received_at: published, rating: stars, text: review}}
    constants: {{channel: review}}
  feedback_field:
    system: crm
    path: exports/feedback/field_notes.csv
    table: feedback
    customer_ref: account_id
    columns: {{feedback_id: note_id, author: written_by, received_at: note_date, text: note}}
    date_format: "%m/%d/%Y"
    constants: {{channel: field}}

  # product: workspaces and daily usage (one Parquet file per block)
  product_workspaces:
    system: product
    path: exports/product/workspaces.csv
    table: customers
    customer_ref: workspace_id
    columns: {{name: workspace_name, email: owner_email, created_at: created}}
  product_usage:
    system: product
    path: exports/product/usage/*.parquet
    table: usage
    customer_ref: workspace_id
    columns: {{day: date}}

  # academy (an LMS): who took the certification program; its account column holds CRM ids
  academy_programs:
    system: crm
    path: exports/academy/programs.csv
    table: programs
    customer_ref: account_id
    columns: {{participant: learner_email, joined_at: enrolled_on, left_at: left_on}}

  finance_costs:
    path: exports/finance/costs.csv
    table: costs

# identity resolution: records of different systems that are the same customer share a master id
identity:
  match_threshold: 0.9     # link two records at this match probability or above
  review_below: 0.5        # pairs between this and match_threshold are listed for review

# owners and targets for the metric catalog (`patron metrics list`)
metrics:
  nps: {{owner: VP Customer Success, target: 20}}
  csat: {{owner: Head of Support, target: 0.65}}
  ces: {{owner: Head of Support, target: 5.0}}
  mrr: {{owner: Chief Customer Officer}}
  grr_monthly: {{owner: Chief Customer Officer, target: 0.98}}

# your own theme names (`patron listen themes`): a text with one of the keywords belongs to the
# theme; each example gives its name to the discovered theme it falls into
listen:
  taxonomy:
    Sign-in and SSO: [log in, login, logged out, locked out, sso, single sign-on, password, two-factor]
    Billing and invoices:
      examples: ["We got billed twice this month and the invoice is wrong",
                 "Please send the invoice to our finance team"]

# plays: rules that turn signals into action items someone owns (`patron actions run`; `patron
# actions fields` lists what a condition may read). A holdout leaves a random share of eligible
# customers untreated, so `patron actions uplift` can tell whether the play works. The success
# team's earlier plays are in exports/success/plays.csv (`patron actions import ... --system crm`).
plays:
  detractor_callback:
    label: Call back a detractor
    subject: response
    when: survey = 'nps' AND score <= 6
    action: Call the customer back about their score
    owner_from: owner      # the account owner; the team where the account has none
    owner: Customer Success team
    due_days: 2
    priority: high
  save_plan:
    label: Save plan for a valuable account turning red
    when: health_band = 'red' AND health_band_before <> 'red' AND arr >= 10000
    action: Write and run a save plan
    owner_from: owner
    owner: Customer Success team
    priority: high
    holdout: 0.3
  renewal_sponsor:
    label: Executive sponsor for a renewal at risk
    when: risk_band IN ('high', 'medium') AND months_to_renewal <= 3 AND arr >= 20000
    action: Name an executive sponsor for the renewal
    owner: VP Customer Success
    due_days: 5
    priority: high
  spike_owner:
    label: An owner for a spiking issue
    subject: alert
    when: ratio >= 2 AND days_ago <= 14
    action: Own the issue until it is back to its usual volume
    owner: Head of Support
    due_days: 3
    priority: high
  reference_request:
    label: Ask a promoter for a reference
    when: promoter AND health_band = 'green' AND paying
    action: Ask for a reference or a review
    owner_from: owner
    owner: Customer Success team
    due_days: 14
    priority: low
    holdout: 0.5

# the customer journey: stages in order, and the touchpoints where customers meet the company
journey:
{journey}
"""
