"""The front ends: the ``slofpy`` command line (cli) with its boot and diff commands, the
--client run, and the interactive prompt (repl). They drive Machine and the firmware layer."""
