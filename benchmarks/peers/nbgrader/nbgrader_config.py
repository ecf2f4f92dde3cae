# nbgrader course configuration for the grading benchmark (a throw-away course directory is
# built from this folder under benchmarks/out/ by benchmarks/grading.py).
c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = "mlhw-bench"
c.CourseDirectory.db_assignments = [{"name": "ps1"}]
c.CourseDirectory.db_students = [
    {"id": "alice", "first_name": "Alice", "last_name": "Correct"},
    {"id": "bob", "first_name": "Bob", "last_name": "Wrong"},
]
c.ExecutePreprocessor.timeout = 120
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
