"""Exit codes of the menshen command; documented in README.md."""

OK = 0
FAILED = 1  # the check the command ran failed: verify found tampering, a target was missed
USAGE = 2  # bad options or arguments (click's own code)
INPUT_ERROR = 3  # a dataset or file could not be used at all; nothing was written
PARTIAL = 4  # the job completed but some rows were quarantined (see the summary)
BUSY = 5  # the store is locked by another process and --no-wait was given
