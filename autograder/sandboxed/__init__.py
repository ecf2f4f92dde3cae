"""The code that runs inside the sandbox: ``worker_main.py`` (the worker program) and
``protocol.py`` (the framing and values, shared with the grader, which imports it as
``autograder.sandboxed.protocol``).

Every ``*.py`` file of this folder is bound read-only into the sandbox at ``/opt/mlhw/`` (see
``autograder.bubblewrap``), where ``autograder`` is invisible: these files import nothing but
the standard library and NumPy (a test holds them to it).
"""
