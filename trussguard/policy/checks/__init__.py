"""One module per Truss policy check (ruff-style): each reads a file's facts and returns structured hits.

Config checks (TG1xx) read the parsed config.yaml and its node index; code checks (TG2xx) read the
facts one pass over model.py's AST collected. Wording lives in the registry and the findings stage.
"""
