"""`fmcat scan`: find the models a codebase references, and decide each.

- ``refs``: what a reference is (a Hub repo, a hosted API model, a local path,
  an Ollama model, or an expression that could not be resolved) and how a
  found string is classified;
- ``walk``: which files a scan reads (``.gitignore``, ``--exclude``, virtual
  environments, binaries, size bound, symlinks);
- ``python``: references in Python source, by syntax tree, with constants,
  f-strings, keyword defaults and environment defaults resolved;
- ``text``: notebooks, configuration files, Dockerfiles, shell scripts, ``.env``;
- ``core``: the scan itself and its decisions against the catalog;
- ``sarif``: SARIF 2.1.0 output for code scanning.
"""
