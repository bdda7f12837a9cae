"""The exit statuses of every dotmock command (the README and docs/report.md list them): one place, read by each CLI."""

EXIT_OK = 0
EXIT_FAILED = 1  # some case failed or errored
EXIT_USAGE = 2  # a bad invocation or a bad .mock file: nothing was run
EXIT_NO_CASES = 5  # nothing selected (as pytest's 5): a typo in a CI filter must not pass
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it: Ctrl-C / SIGTERM
