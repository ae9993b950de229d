"""README's "Sending and reading from a program" examples, run as they are (Python in a child
interpreter, JavaScript under node) against a real gateway: they send one SMS and list the inbound."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import Gateway, gateway

README = Path(__file__).parents[2] / "README.md"


def example(language: str) -> str:
    text = README.read_text()
    section = text[text.index("### Sending and reading from a program"):]
    section = section[:section.index("\n### ", 1)]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"README's sending section has no {language} example"
    return found.group(1)


async def run_example(gw: Gateway, command: list[str]) -> str:
    env = {**os.environ, "GATEWAY": str(gw.client.make_url("")).rstrip("/"), "GATEWAYD_KEY": gw.token}
    child = await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()[-2000:]
    return out.decode()


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_the_readme_examples_send_and_read_inbound(tmp_path: Path, language: str) -> None:
    if language == "javascript" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    async with gateway(tmp_path, lines=1) as gw:
        await gw.modems[0].deliver_sms("+33698765432", "Bonjour, c'est prêt ?")

        async def received() -> bool:
            _, page = await gw.get("/api/v1/inbound")
            return bool(page["messages"])

        for _ in range(500):
            if await received():
                break
            await asyncio.sleep(0.02)
        command = ([sys.executable, "-c", example("python")] if language == "python"
                   else ["node", "--input-type=module", "-e", example("javascript")])
        out = await run_example(gw, command)
        sent = re.search(r"^message (\d+) queued$", out, re.M)
        assert sent, out
        message = await gw.message(int(sent.group(1)))
        assert (message["to"], message["client_ref"]) == ("+33612345678", "order-4711")
        assert "+33698765432 Bonjour, c'est prêt ?" in out
        # The Idempotency-Key: run again, still one message.
        await run_example(gw, command)
        assert len(await gw.states()) == 1
