"""Liaison meetings, hospitations and information events (built in the cooperation issue)."""
