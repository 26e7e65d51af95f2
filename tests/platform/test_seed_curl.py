"""The seed document's own shell commands, run with real curl against the local platform.

The commands are read from the seed file itself; only the hosts, the example client id/secret,
the endpoint id, the token and the model name are replaced.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

# A verbatim copy of the seed document (/work/shared/seed/000_37c12159947f8f8a.txt).
SEED = Path(__file__).resolve().parent / "data" / "seed_000_37c12159947f8f8a.txt"
EXAMPLE_ID = "a5d532c8-38ac-445f-b06c-cd54b2d68f67"
EXAMPLE_SECRET = "1910628f-57b7-42b8-8f9e-e148866fd407"
EXAMPLE_BASIC = base64.b64encode(f"{EXAMPLE_ID}:{EXAMPLE_SECRET}".encode()).decode()


def seed_commands() -> tuple[str, str, str]:
    text = SEED.read_text(encoding="utf-8")
    # The seed indents its chat command with no-break spaces (U+00A0), an artefact of the
    # page it was copied from: bash would pass them to curl as arguments and no JSON parser
    # accepts them. A browser's copy turns them into plain spaces; so do we.
    text = text.replace("\xa0", " ")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    encode = next(b for b in blocks if b.startswith("echo -n"))
    token = next(b for b in blocks if "auth/token" in b)
    chat = next(b for b in blocks if "chat/completions" in b)
    return encode.split("\n")[0], token, chat


def run(command: str) -> str:
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def test_seed_curl_commands_work_against_the_local_platform(platform):
    encode, token_cmd, chat_cmd = seed_commands()
    account = platform.service_account

    # Step 2a of the seed: base64("client_id:client_secret").
    basic = run(
        encode.replace(EXAMPLE_ID, account.client_id).replace(EXAMPLE_SECRET, account.client_secret)
    ).strip()
    assert basic == account.basic

    # Step 2b: the token.
    assert EXAMPLE_BASIC in token_cmd
    token_cmd = token_cmd.replace("https://iamapis.vngcloud.vn", platform.url).replace(
        EXAMPLE_BASIC, basic
    )
    token = json.loads(run(token_cmd))
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 1800
    assert token["refresh_expires_in"] == 0

    # Step 3: the chat completion with that token.
    chat_cmd = (
        chat_cmd.replace("https://inference-aiplatform-hcm.api.vngcloud.vn", platform.url)
        .replace("<endpoint-id>", platform.seed_endpoint_id)
        .replace("<access_token>", token["access_token"])
        .replace("<model name>", "demo-chat")
    )
    answer = json.loads(run(chat_cmd))
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"]
    assert answer["usage"]["prompt_tokens"] == 4  # "assistant" + "How are you"
