"""`mlhw release`: student versions of an assignment's source notebook.

``source`` parses the instructor's notebook (docs/ASSIGNMENT_FORMAT.md); each format is a
module with one entry point ``release(name, to) -> Path``: ``plain`` (notebook, public tests,
``mlhw_check``), ``otter``, ``nbgrader``; ``common`` holds what they share; ``cli`` is the
click command.
"""
