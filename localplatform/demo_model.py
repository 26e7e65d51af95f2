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
_VIETNAMESE = re.compile(
    r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I
)


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
        # Where sentences begin, with the words each sentence holds: an answer starts at the
        # beginning of a sentence about the question, not in the middle of one.
        self.sentence_starts: list[tuple[tuple[str, ...], frozenset[str], bool]] = []
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
                tokens = tokenize(sentence)
                if tokens and tokens[0][:1].isupper() and tokens[0] in self.bigrams:
                    words = frozenset(t.lower() for t in tokens if len(t) > 3)
                    vietnamese = bool(_VIETNAMESE.search(sentence))
                    # Three words: "Inference Dashboard" begins sentences in both languages.
                    self.sentence_starts.append((tuple(tokens[:3]), words, vietnamese))

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
        prev2: str | None = None
        prev1: str | None = None
        for token in self._opening(prompt, temperature=temperature, rng=rng):
            yield token
            prev2, prev1 = prev1, token
        while True:
            counts = self._distribution(prev2, prev1)
            if ignore_eos and EOS in counts:
                counts = Counter({t: c for t, c in counts.items() if t != EOS}) or self.starts
            token = self._pick(counts, temperature=temperature, top_p=top_p, rng=rng)
            if token == EOS:
                return
            yield token
            prev2, prev1 = prev1, token

    def _opening(self, prompt: str, *, temperature: float, rng: random.Random) -> tuple[str, ...]:
        """The first words of a sentence in the prompt's language sharing most words with it.

        Temperature 0 takes the first such sentence of the corpus (deterministic); otherwise one
        of them at random, so the same question gets different answers.
        """
        if not self.sentence_starts:
            return ()
        asked = {t.lower() for t in tokenize(prompt) if len(t) > 3}
        vietnamese = bool(_VIETNAMESE.search(prompt))
        scored = [
            ((vi == vietnamese, len(words & asked)), start)
            for start, words, vi in self.sentence_starts
        ]
        best = max(score for score, _ in scored)
        candidates = [start for score, start in scored if score == best]
        if temperature <= 0:
            return candidates[0]
        return rng.choice(candidates)
