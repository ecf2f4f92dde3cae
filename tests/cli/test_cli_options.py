"""The CLI takes the sandbox limits' defaults from SandboxConfig, in one place."""

from click.testing import CliRunner

from autograder.cli import _sandbox_config, main
from autograder.sandbox import SandboxConfig


def test_limit_defaults_are_the_sandbox_configs() -> None:
    limits = SandboxConfig()
    for verb in ("grade", "grade-class"):
        text = CliRunner().invoke(main, [verb, "--help"], terminal_width=200).output
        assert f"Seconds allowed per call.  [default: {float(limits.call_timeout)}]" in text
        assert f"[default: {float(limits.submission_timeout)}]" in text
        assert f"[default: {limits.memory_bytes // 2**20}]" in text


def test_default_options_give_the_default_config() -> None:
    limits = SandboxConfig()
    assert _sandbox_config(limits.call_timeout, limits.submission_timeout, 2048) == limits
    assert _sandbox_config(3, None, 512).call_timeout == 3
    assert _sandbox_config(3, None, 512).memory_bytes == 512 * 2**20


def test_report_paths_put_a_file_inside_a_folder(tmp_path) -> None:
    from autograder.grade_cli import report_paths

    folder, file = tmp_path / "out", tmp_path / "r.json"
    folder.mkdir()
    assert report_paths(tmp_path / "alice.ipynb", (folder, file, None), False) == [
        folder / "alice.json", file, None]
    assert report_paths(tmp_path / "bob.py", (None, None, tmp_path / "new"), True) == [
        None, None, tmp_path / "new" / "bob.xml"]


def test_grade_with_json_naming_a_folder_keeps_the_result(tmp_path) -> None:
    import json

    submission = tmp_path / "alice.py"
    submission.write_text("x = 1\n")
    out = tmp_path / "results"
    out.mkdir()
    run = CliRunner().invoke(main, ["grade", str(submission), "-a", "deep_chain", "-q",
                                    "--json", str(out)])
    assert run.exit_code == 0, run.output
    assert json.loads((out / "alice.json").read_text())["assignment"] == "deep_chain"
