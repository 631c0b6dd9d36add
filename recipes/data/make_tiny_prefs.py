"""Regenerates tiny_prefs.jsonl: a deterministic synthetic preference dataset for TinkerFlow's Dpo recipe.

Usage: python3 recipes/data/make_tiny_prefs.py  (writes recipes/data/tiny_prefs.jsonl; same output every run)

Each line is {"prompt": [{"role": "user", "content": ...}], "chosen": ..., "rejected": ...}: the same templated tasks
as tiny_chat.jsonl, where "chosen" is the correct answer and "rejected" a plausible wrong one (an off-by-one or
off-by-ten sum, a misspelled or unreversed word, a lower-cased word, a miscounted letter, another country's capital,
a wrong antonym, a skipped or repeated number). Chosen and rejected share the answer's template, so only the fact
differs.
"""
import json
import random

rng = random.Random(20261123)
WORDS = ("apple river stone cloud tiger lemon piano garden rocket silver candle forest window orange pencil "
         "bridge planet mirror castle dragon summer winter autumn spring butter coffee marble violet yellow "
         "purple ocean desert island valley meadow thunder shadow").split()
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Egypt": "Cairo",
            "Canada": "Ottawa", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo", "Chile": "Santiago",
            "Greece": "Athens", "Poland": "Warsaw", "Cuba": "Havana", "Ireland": "Dublin", "Austria": "Vienna"}
ANTONYMS = {"hot": "cold", "up": "down", "big": "small", "fast": "slow", "light": "dark", "happy": "sad",
            "open": "closed", "early": "late", "full": "empty", "old": "new", "hard": "soft", "loud": "quiet"}


def misspell(word):
    """Swaps two adjacent letters that differ, so the result is a different string of the same letters."""
    spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def pair():
    kind = rng.randrange(7)
    if kind == 0:
        a, b = rng.randrange(10, 100), rng.randrange(10, 100)
        wrong = a + b + rng.choice((-10, -1, 1, 10))
        return f"What is {a}+{b}?", f"{a}+{b}={a + b}", f"{a}+{b}={wrong}"
    if kind == 1:
        w = rng.choice(WORDS)
        return f"Reverse the word {w}.", w[::-1], rng.choice((w, misspell(w[::-1])))
    if kind == 2:
        w = rng.choice(WORDS)
        return f"Write {w} in capital letters.", w.upper(), rng.choice((w, misspell(w.upper())))
    if kind == 3:
        w = rng.choice(WORDS)
        c = rng.choice(sorted(set(w)))
        n = w.count(c)
        return f"How many times does the letter {c} appear in {w}?", f"{n}", f"{n + 1 if n == 1 or rng.random() < 0.5 else n - 1}"
    if kind == 4:
        country = rng.choice(sorted(CAPITALS))
        other = rng.choice(sorted(c for c in CAPITALS.values() if c != CAPITALS[country]))
        return (f"What is the capital of {country}?", f"The capital of {country} is {CAPITALS[country]}.",
                f"The capital of {country} is {other}.")
    if kind == 5:
        w = rng.choice(sorted(ANTONYMS))
        other = rng.choice(sorted(a for a in ANTONYMS.values() if a != ANTONYMS[w]))
        return f"What is the opposite of {w}?", f"The opposite of {w} is {ANTONYMS[w]}.", f"The opposite of {w} is {other}."
    n = rng.randrange(1, 999)
    return f"Which number comes after {n}?", f"{n + 1}", f"{rng.choice((n, n + 2))}"


with open(__file__.replace("make_tiny_prefs.py", "tiny_prefs.jsonl"), "w", encoding="utf-8") as f:
    for _ in range(2000):
        q, chosen, rejected = pair()
        assert chosen != rejected, (q, chosen, rejected)
        f.write(json.dumps({"prompt": [{"role": "user", "content": q}], "chosen": chosen, "rejected": rejected}) + "\n")
