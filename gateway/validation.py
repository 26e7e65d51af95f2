"""A chat completion request checked as OpenAI checks it, within the platform's own ranges.

Refusals are 400s naming the field (`param`), so a caller learns what to fix without a trip to
the platform. The ranges are the platform playground's (playground.params, SEEN).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings

from gateway import prompt
from gateway.errors import ApiError, bad_request
from playground import params

# What OpenAI's chat completions accept (and vLLM passes on); anything else is refused by name.
KNOWN = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "n",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "user",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
    }
)
# vLLM's own sampling parameters, beside OpenAI's (its OpenAI-compatible server takes them in the
# same body, the openai package's `extra_body`); passed on unchanged, after these checks.
VLLM_NUMBERS = {
    "min_p": (0, 1),
    "repetition_penalty": (0, 2),  # above 0 (1 is off); vLLM refuses 0 and below
}
VLLM_FLAGS = ("ignore_eos", "skip_special_tokens", "include_stop_str_in_output")
MAX_STOP_TOKEN_IDS = 16
VLLM = frozenset({*VLLM_NUMBERS, *VLLM_FLAGS, "top_k", "min_tokens", "stop_token_ids"})
KNOWN = KNOWN | VLLM
NUMBERS = {
    "temperature": (params.TEMPERATURE.low, params.TEMPERATURE.high),
    "top_p": (params.TOP_P.low, params.TOP_P.high),
    "presence_penalty": (params.PRESENCE_PENALTY.low, params.PRESENCE_PENALTY.high),
    "frequency_penalty": (-2, 2),
}


@dataclass(frozen=True)
class ChatCall:
    body: dict
    model: str
    stream: bool
    wants_usage: bool  # the caller asked for stream_options.include_usage
    max_tokens: int
    prompt_estimate: int  # characters / 4: a reservation, settled from the reported usage
    max_tokens_param: str = "max_tokens"  # the name the caller used (or would use)
    max_tokens_given: bool = True  # False: GATEWAY_DEFAULT_MAX_TOKENS, assumed

    def max_tokens_said(self) -> str:
        """The completion's share of the cost, as a message puts it."""
        if self.max_tokens_given:
            return f"{self.max_tokens_param} {self.max_tokens}"
        return f"{self.max_tokens} assumed for max_tokens, which was not set"

    @property
    def cost(self) -> int:
        """Tokens reserved before the call (settled from the real usage after)."""
        return self.prompt_estimate + self.max_tokens


def parse(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python can read
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request: send a JSON object.",
            code="invalid_json",
        )
    return body


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _stop(stop: object) -> None:
    """As OpenAI takes it: a string, or an array of up to 4 strings; each one bounded."""
    if stop is None:
        return
    high, most = params.MAX_STOP_LENGTH, params.MAX_STOP_SEQUENCES
    if isinstance(stop, str):
        sequences = [("stop", stop)]
    elif isinstance(stop, list):
        if len(stop) > most:
            raise bad_request(
                f"Invalid value for 'stop': at most {most} stop sequences, got {len(stop)}.",
                param="stop",
                code="too_many_stop_sequences",
            )
        sequences = [(f"stop[{i}]", s) for i, s in enumerate(stop)]
    else:
        raise bad_request(
            f"Invalid type for 'stop': expected a string or an array of up to {most} strings.",
            param="stop",
            code="invalid_type",
        )
    for where, sequence in sequences:
        if not isinstance(sequence, str):
            raise bad_request(
                f"Invalid type for '{where}': expected a string.", param=where, code="invalid_type"
            )
        if not 1 <= len(sequence) <= high:
            raise bad_request(
                f"Invalid value for '{where}': a stop sequence has 1 to {high} characters, "
                f"got {len(sequence)}.",
                param=where,
                code="stop_sequence_length",
            )


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _vllm(body: dict, max_tokens: int) -> None:
    """vLLM's extra sampling parameters, within the ranges vLLM itself takes."""
    top_k = body.get("top_k")
    if top_k is not None and (not _is_integer(top_k) or top_k < -1):
        raise bad_request(
            f"Invalid value for 'top_k': expected an integer, -1 or 0 (off) or at least 1, "
            f"got {top_k!r}.",
            param="top_k",
        )
    for name, (low, high) in VLLM_NUMBERS.items():
        value = body.get(name)
        if value is None:
            continue
        strict = name == "repetition_penalty"
        fits = _is_number(value) and (low < value if strict else low <= value) and value <= high
        if not fits:
            bounds = (
                f"above {low:g} and at most {high:g}" if strict else f"from {low:g} to {high:g}"
            )
            raise bad_request(
                f"Invalid value for '{name}': expected a number {bounds}, got {value!r}.",
                param=name,
            )
    min_tokens = body.get("min_tokens")
    if min_tokens is not None and (
        not _is_integer(min_tokens) or not 0 <= min_tokens <= max_tokens
    ):
        raise bad_request(
            f"Invalid value for 'min_tokens': expected an integer between 0 and max_tokens "
            f"({max_tokens}), got {min_tokens!r}.",
            param="min_tokens",
        )
    ids = body.get("stop_token_ids")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) > MAX_STOP_TOKEN_IDS
        or not all(_is_integer(i) and i >= 0 for i in ids)
    ):
        raise bad_request(
            f"Invalid value for 'stop_token_ids': expected an array of up to "
            f"{MAX_STOP_TOKEN_IDS} token ids (integers, 0 or more).",
            param="stop_token_ids",
        )
    for name in VLLM_FLAGS:
        if name in body and not isinstance(body[name], bool):
            raise bad_request(
                f"Invalid type for '{name}': expected a boolean.", param=name, code="invalid_type"
            )


MAX_TOP_LOGPROBS = 20
# Parameters passed on as they are, checked for their JSON type only (their content is the
# model server's business): the name, and the types OpenAI takes.
SHAPES: dict[str, tuple[tuple[type, ...], str]] = {
    "user": ((str,), "a string"),
    "response_format": ((dict,), "an object"),
    "tool_choice": ((str, dict), "a string or an object"),
    "parallel_tool_calls": ((bool,), "a boolean"),
    "logprobs": ((bool,), "a boolean"),
}


def _shapes(body: dict) -> None:
    for name, (types, said) in SHAPES.items():
        value = body.get(name)
        if value is not None and not isinstance(value, types):
            raise bad_request(
                f"Invalid type for '{name}': expected {said}.", param=name, code="invalid_type"
            )


def _logits(body: dict) -> None:
    """As OpenAI takes them: logit_bias maps token ids to -100..100; top_logprobs (0 to 20)
    needs logprobs (a boolean, checked with the other SHAPES)."""
    bias = body.get("logit_bias")
    if bias is not None:
        if not isinstance(bias, dict):
            raise bad_request(
                "Invalid type for 'logit_bias': expected an object mapping token ids to biases.",
                param="logit_bias",
                code="invalid_type",
            )
        for token, value in bias.items():
            if (
                not (token.isascii() and token.isdigit())
                or not _is_number(value)
                or not -100 <= value <= 100
            ):
                raise bad_request(
                    f"Invalid value for 'logit_bias': each key is a token id (digits) and each "
                    f"value a number from -100 to 100, got {token!r}: {value!r}.",
                    param="logit_bias",
                )
    logprobs = body.get("logprobs")  # a boolean (SHAPES)
    top = body.get("top_logprobs")
    if top is None:
        return
    if not _is_integer(top) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise bad_request(
            f"Invalid value for 'top_logprobs': expected an integer from 0 to {MAX_TOP_LOGPROBS}, "
            f"got {top!r}.",
            param="top_logprobs",
        )
    if not logprobs:
        raise bad_request(
            "The 'top_logprobs' parameter needs 'logprobs' set to true.", param="top_logprobs"
        )


def check(body: dict) -> ChatCall:
    unknown = sorted(set(body) - KNOWN)
    if unknown:
        raise bad_request(
            f"Unrecognized request argument supplied: {unknown[0]}.",
            param=unknown[0],
            code="unknown_parameter",
        )
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise bad_request(
            f"Invalid type for 'model': expected a string, got {type(model).__name__}.",
            param="model",
            code="invalid_type",
        )
    if model is None or not model.strip():
        raise bad_request(
            "Missing required parameter: 'model' (an endpoint's name or alias).",
            param="model",
            code="missing_required_parameter",
        )
    prompt_size = prompt.estimate(body)
    for name, (low, high) in NUMBERS.items():
        value = body.get(name)
        if value is not None and (not _is_number(value) or not low <= value <= high):
            raise bad_request(
                f"Invalid value for '{name}': expected a number between {low:g} and {high:g}, "
                f"got {value!r}.",
                param=name,
            )
    max_tokens = settings.GATEWAY_DEFAULT_MAX_TOKENS
    max_tokens_param = "max_tokens"
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        high = int(params.MAX_TOKENS.high)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise bad_request(
                f"Invalid value for '{name}': expected an integer between 1 and {high}, "
                f"got {value!r}.",
                param=name,
            )
        max_tokens, max_tokens_param = value, name
    n = body.get("n")
    if n is not None and (not _is_integer(n) or n != 1):  # True and 1.0 equal 1 in Python
        raise bad_request(f"Invalid value for 'n': only 1 is supported, got {n!r}.", param="n")
    seed = body.get("seed")
    if seed is not None and not _is_integer(seed):
        raise bad_request(
            f"Invalid type for 'seed': expected an integer, got {seed!r}.",
            param="seed",
            code="invalid_type",
        )
    if seed is not None and not -(2**63) <= seed < 2**63:
        raise bad_request("Invalid value for 'seed': expected a 64-bit integer.", param="seed")
    _shapes(body)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request(
            "Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type"
        )
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request(
            "Invalid type for 'stream_options': expected an object.",
            param="stream_options",
            code="invalid_type",
        )
    if options is not None and not stream:
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is true.",
            param="stream_options",
        )
    if options is not None and not isinstance(options.get("include_usage", False), bool):
        raise bad_request(
            "Invalid type for 'stream_options.include_usage': expected a boolean.",
            param="stream_options.include_usage",
            code="invalid_type",
        )
    _stop(body.get("stop"))
    _logits(body)
    _vllm(body, max_tokens)
    return ChatCall(
        body=body,
        model=model,
        stream=stream,
        wants_usage=bool(stream and options and options.get("include_usage")),
        max_tokens=max_tokens,
        max_tokens_param=max_tokens_param,
        max_tokens_given=any(
            body.get(n) is not None for n in ("max_tokens", "max_completion_tokens")
        ),
        prompt_estimate=prompt_size,
    )
