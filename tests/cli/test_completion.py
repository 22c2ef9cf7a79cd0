"""`qos completion bash`: the script, sourced in a real bash, completes subcommands at every
level and the options of the command typed so far."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from host.cli.qos import main


def complete(script: str, *words: str) -> list[str]:
    """What bash offers for the last of ``words`` (the word being typed)."""
    program = f"""{script}
COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}
_{words[0]}_complete; printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    assert result.stderr == ""
    return sorted(result.stdout.split())


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion(capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert complete(script, "qos", "ke") == ["keys"]
    assert complete(script, "qos", "tx", "sta") == ["staking"]
    assert "delegate" in complete(script, "qos", "tx", "staking", "")
    assert complete(script, "qos", "tx", "bank", "send", "--gen") == ["--generate-only"]
    assert complete(script, "qos", "device", "--json", "scr") == ["screenshot"]  # after options
    assert complete(script, "qosd", "te") == ["testnet"]
    assert main(["completion", "zsh"]) == 0
    assert "bashcompinit" in capsys.readouterr().out
