"""Options shared by the project's tests."""


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite the expected scores of the submission corpus (and golden "
                          "files) from what the grader gives now, printing the diff")
