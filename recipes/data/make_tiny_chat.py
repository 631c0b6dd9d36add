"""Regenerates tiny_chat.jsonl: a deterministic synthetic chat dataset for TinkerFlow's SFT recipes.

Usage: python3 recipes/data/make_tiny_chat.py  (writes recipes/data/tiny_chat.jsonl; same output every run)

Each line is {"messages": [{"role": "user", "content": ...}, {"role": "assistant", "content": ...}]}.
Tasks are small, templated and checkable so that a tiny byte-level model visibly learns: two-digit addition,
word reversal, upper-casing, counting letters, capitals, antonyms and successor numbers.
"""
import json
import random

rng = random.Random(20261122)
WORDS = ("apple river stone cloud tiger lemon piano garden rocket silver candle forest window orange pencil "
         "bridge planet mirror castle dragon summer winter autumn spring butter coffee marble violet yellow "
         "purple ocean desert island valley meadow thunder shadow").split()
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Egypt": "Cairo",
            "Canada": "Ottawa", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo", "Chile": "Santiago",
            "Greece": "Athens", "Poland": "Warsaw", "Cuba": "Havana", "Ireland": "Dublin", "Austria": "Vienna"}
ANTONYMS = {"hot": "cold", "up": "down", "big": "small", "fast": "slow", "light": "dark", "happy": "sad",
            "open": "closed", "early": "late", "full": "empty", "old": "new", "hard": "soft", "loud": "quiet"}


def example():
    kind = rng.randrange(7)
    if kind == 0:
        a, b = rng.randrange(10, 100), rng.randrange(10, 100)
        return f"What is {a}+{b}?", f"{a}+{b}={a + b}"
    if kind == 1:
        w = rng.choice(WORDS)
        return f"Reverse the word {w}.", w[::-1]
    if kind == 2:
        w = rng.choice(WORDS)
        return f"Write {w} in capital letters.", w.upper()
    if kind == 3:
        w = rng.choice(WORDS)
        c = rng.choice(sorted(set(w)))
        n = w.count(c)
        return f"How many times does the letter {c} appear in {w}?", f"{n}"
    if kind == 4:
        country = rng.choice(sorted(CAPITALS))
        return f"What is the capital of {country}?", f"The capital of {country} is {CAPITALS[country]}."
    if kind == 5:
        w = rng.choice(sorted(ANTONYMS))
        return f"What is the opposite of {w}?", f"The opposite of {w} is {ANTONYMS[w]}."
    n = rng.randrange(1, 999)
    return f"Which number comes after {n}?", f"{n + 1}"


with open(__file__.replace("make_tiny_chat.py", "tiny_chat.jsonl"), "w", encoding="utf-8") as f:
    for _ in range(4000):
        q, a = example()
        f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n")
