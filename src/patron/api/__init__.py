"""The HTTP service: feedback as it happens, behind API keys."""
