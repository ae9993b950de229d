"""The test suite: a package, so that its modules import each other as tests.<area>.<module> and no test
folder (tests/console) takes the name of a package under test (console)."""
