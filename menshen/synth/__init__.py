"""The synthetic world: `generate()` writes a labelled interchange-format dataset."""

from menshen.synth.generator import DEFAULT_START, SynthSummary, generate

__all__ = ["DEFAULT_START", "SynthSummary", "generate"]
