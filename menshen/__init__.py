"""menshen (門神): audits look-ups of citizens' personal data in public agencies."""

__version__ = "0.1.0"
