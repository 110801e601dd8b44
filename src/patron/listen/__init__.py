"""Listening: what customers say in comments, tickets and feedback (sentiment, themes, trends)."""
