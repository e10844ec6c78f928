"""Reading datasets in interchange format v1: schema, encodings, streaming, validation."""

from menshen.dataset.errors import DatasetError, Problem
from menshen.dataset.schema import ACCESS, ALL_FILES, REFERENCE, SPECS, FileSpec

__all__ = ["ACCESS", "ALL_FILES", "REFERENCE", "SPECS", "DatasetError", "FileSpec", "Problem"]
