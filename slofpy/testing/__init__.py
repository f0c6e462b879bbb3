"""Forth test files: the runner (forthtest, also behind ``slofpy test``), the pytest plugin
that collects tests/*.fs, and forth_tester.fs, the T{ ... -> ... }T words loaded first."""
