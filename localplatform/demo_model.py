"""The `demo` model: a word-level trigram sampler built at start-up from `corpus/*.txt`.

It is not clever, but it really samples one token at a time, so everything around it behaves like
a model server: temperature 0 is deterministic (argmax), a seed makes sampling repeatable, `top_p`
keeps the nucleus, `max_tokens` is exact, stop sequences end the answer, and usage is counted with
the same tokenizer for the prompt and the completion.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
EOS = "<eos>"
_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_NO_SPACE_BEFORE = set(".,;:!?)")


def tokenize(text: str) -> list[str]:
    """Words and punctuation marks: the one tokenizer for prompts and completions."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))


def piece(token: str, *, first: bool) -> str:
    """The text a token adds to the answer (a leading space, as BPE tokens carry)."""
    if first or token in _NO_SPACE_BEFORE:
        return token
    return " " + token


class DemoModel:
    def __init__(self, texts: list[str]) -> None:
        self.trigrams: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.bigrams: dict[str, Counter[str]] = defaultdict(Counter)
        self.starts: Counter[str] = Counter()
        for text in texts:
            for paragraph in re.split(r"\n\s*\n", text):
                tokens = tokenize(paragraph)
                if not tokens:
                    continue
                tokens.append(EOS)
                self.starts[tokens[0]] += 1
                for a, b in itertools.pairwise(tokens):
                    self.bigrams[a][b] += 1
                for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False):
                    self.trigrams[(a, b)][c] += 1
        # Lower-cased index so that a prompt's last word can seed the answer.
        self.vocabulary = {word.lower(): word for word in self.bigrams}

    @classmethod
    def from_corpus(cls, directory: Path = CORPUS_DIR) -> DemoModel:
        texts = [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.txt"))]
        return cls(texts)

    def _distribution(self, prev2: str | None, prev1: str | None) -> Counter[str]:
        if prev2 is not None and prev1 is not None and (prev2, prev1) in self.trigrams:
            return self.trigrams[(prev2, prev1)]
        if prev1 is not None and prev1 in self.bigrams:
            return self.bigrams[prev1]
        return self.starts

    @staticmethod
    def _pick(counts: Counter[str], *, temperature: float, top_p: float, rng: random.Random) -> str:
        # Stable order (count desc, then token) so that argmax and sampling are repeatable.
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if temperature <= 0:
            return ranked[0][0]
        weights = [math.exp(math.log(count) / temperature) for _, count in ranked]
        total = sum(weights)
        probs = [w / total for w in weights]
        if top_p < 1.0:
            kept, cumulative = 0, 0.0
            for p in probs:
                kept += 1
                cumulative += p
                if cumulative >= top_p:
                    break
            ranked, probs = ranked[:kept], probs[:kept]
        return rng.choices([token for token, _ in ranked], weights=probs, k=1)[0]

    def generate(
        self,
        prompt: str,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        ignore_eos: bool = False,
    ) -> Iterator[str]:
        """Yield tokens one by one, forever unless the model samples its end (ignore_eos off)."""
        rng = random.Random(seed) if seed is not None else random.Random()
        # Condition on the prompt's last known word, so different questions start differently.
        prev2: str | None = None
        prev1: str | None = None
        for word in reversed(tokenize(prompt)):
            known = self.vocabulary.get(word.lower())
            if known is not None and known in self.bigrams:
                prev1 = known
                break
        while True:
            counts = self._distribution(prev2, prev1)
            if ignore_eos and EOS in counts:
                counts = Counter({t: c for t, c in counts.items() if t != EOS}) or self.starts
            token = self._pick(counts, temperature=temperature, top_p=top_p, rng=rng)
            if token == EOS:
                return
            yield token
            prev2, prev1 = prev1, token
