"""Exceptions shared by the grader: student-caused errors and failed checks."""
class CheckFailed(AssertionError):
    """A check found the student's answer wrong; the message is safe to show to the student."""
