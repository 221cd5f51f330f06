"""Sources: where the bytes to scan come from (the working tree now; the index and history later)."""
