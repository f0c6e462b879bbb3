"""Forth test files: the runner (forthtest, also behind ``slofpy test``), the pytest plugin
that collects tests/*.fs, and forth_tester.fs, the T{ ... -> ... }T words loaded first."""

DEFAULT_TIME_LIMIT = 60.0
"""Seconds one test may run (with the set-up lines replayed before it) by default, in
`slofpy test` and the pytest plugin; running out fails that test with code -256. (Here, so
that the command line can name it without loading the runner.)"""
