"""`mlhw release`: student versions of an assignment's source notebook.

``source`` parses the instructor's notebook (docs/ASSIGNMENT_FORMAT.md); ``plain`` writes the
plain bundle (notebook, public tests, ``mlhw_check``); ``cli`` is the click command.
"""
