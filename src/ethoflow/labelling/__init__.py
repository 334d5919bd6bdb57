"""Labelling with the champions: one recording (:mod:`.recording`) and the batch around it
(:mod:`.batch`: finding videos, their ids, the report)."""
