"""Looking ahead: health, churn risk with its reasons, lifetime value, renewals and what drives loyalty.

Features are SQL over the warehouse as of a snapshot day (the shared customer-month and texts
relations, never a copy of them); models are tested on a later snapshot than they learned from.
"""
