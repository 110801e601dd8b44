"""Taking action: the investment list, plays that turn signals into owned action items, and proof.

Plays create action items from signals and hold out a random share of customers; people work the
items; the closed loop and the holdouts say whether the work paid off, and the programs whether
taking part goes with better retention.
"""
