"""Held-out labelled world: an independent generator used to check that menshen generalises."""
