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
