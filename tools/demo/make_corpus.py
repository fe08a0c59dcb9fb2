#!/usr/bin/python3
"""Writes the demo models' training chats as JSON lines (one conversation per line).

The chats are generated from templates with a fixed seed, so the corpus needs no download
and is the same on every machine: short stories on request, and plain answers about the
architecture ideas archscope shows (sliding windows, KV sharing, per-layer embeddings,
attention budgets, mixture of experts, KV caches). A model of a few million parameters
learns to write them fluently, which is what a demo needs.

    /usr/bin/python3 tools/demo/make_corpus.py --chats 40000 > corpus.jsonl
"""
import argparse
import json
import random

NAMES = ["Tom", "Mia", "Leo", "Lily", "Max", "Anna", "Ben", "Zoe", "Sam", "Ella", "Finn", "Ruby", "Jack", "Nora"]
ANIMALS = ["cat", "dog", "rabbit", "fox", "bear", "owl", "duck", "mouse", "frog", "turtle", "bird", "horse", "lion", "fish"]
ADJECTIVES = ["little", "brave", "curious", "happy", "sleepy", "kind", "small", "clever", "shy", "funny", "gentle", "busy"]
PLACES = ["in a small house by the sea", "in a big green forest", "on a quiet farm", "near a tall mountain",
          "in a busy little town", "under an old oak tree", "by a clear blue lake", "in a garden full of flowers"]
LIKES = ["play in the park", "read books", "bake cookies", "look at the stars", "run in the grass", "sing songs",
         "build tall towers", "paint pictures", "swim in the lake", "climb trees", "pick flowers", "fly a red kite"]
EVENTS = [("found a shiny key under a rock", "wondered what it could open"),
          ("saw a big storm coming", "ran home as fast as {p} could"),
          ("lost {q} favorite ball", "looked everywhere for it"),
          ("met a lonely {friend}", "asked the {friend} to play"),
          ("heard a strange sound in the night", "went outside to look"),
          ("found a map in an old box", "decided to follow it"),
          ("saw a bird with a hurt wing", "wanted to help it"),
          ("got lost on the way home", "tried to find the path again")]
FEELINGS = ["happy", "scared", "surprised", "sad", "excited", "proud", "nervous", "calm"]
ENDINGS = ["In the end, {n} and the {friend} became best friends.",
           "In the end, {n} learned that it is good to ask for help.",
           "In the end, {n} went home and slept with a big smile.",
           "In the end, everyone was safe and happy again.",
           "In the end, {n} knew that being kind is the best thing of all.",
           "In the end, the key opened a box full of old letters, and {n} read them all."]
STORY_ASKS = ["Tell me a story about a {a}.", "Can you tell me a story about a {a}?", "Write a short story about a {a}.",
              "Tell me a story.", "I want a story about a {adj} {a}.", "Please tell me a bedtime story about a {a}."]

# Concept questions and answers: what the demo explains while its views show it.
FACTS = {
    "sliding window": (
        ["What is a sliding window?", "What does a sliding window layer do?", "How does sliding window attention work?"],
        ["A sliding window layer only looks at the last few tokens, not the whole context. Its cache stops growing once "
         "the window is full, so long chats cost less memory.",
         "In a sliding window layer, each token attends to a fixed number of recent tokens. Old keys and values are "
         "dropped, so the cache of that layer stays the same size however long the chat gets."]),
    "global attention": (
        ["What is a global layer?", "What does global attention mean?"],
        ["A global layer attends to every token in the context. Its cache grows with each new token, so global layers "
         "hold most of the memory in a long chat.",
         "Global attention means a token can look at all the tokens before it. It sees the most, and it costs the most "
         "memory."]),
    "kv cache": (
        ["What is the KV cache?", "Why does the KV cache grow?", "What is stored in the cache?"],
        ["The KV cache keeps the keys and values of every token a layer has seen, so the model does not compute them "
         "again. It grows by one entry per token in each layer that owns a cache.",
         "Each attention layer stores a key and a value for every token it can still attend to. That store is the KV "
         "cache, and it is often the biggest cost of a long context."]),
    "kv sharing": (
        ["What is KV sharing?", "How does KV sharing save memory?", "What does it mean when a layer reads another layer's cache?"],
        ["With KV sharing, some layers do not keep a cache of their own. They compute only their queries and read the "
         "keys and values of an earlier layer of the same kind, so the cache gets much smaller.",
         "KV sharing lets the last layers reuse the cache of an earlier layer. They still ask their own questions, but "
         "they read the answers another layer already stored."]),
    "per-layer embeddings": (
        ["What are per-layer embeddings?", "What does PLE do?"],
        ["Per-layer embeddings give every layer a small extra vector for each token. The big table is only looked up, "
         "never multiplied, so it can stay in main memory while the GPU gets just the rows it needs.",
         "With per-layer embeddings, each layer gets its own small embedding of the token. It adds knowledge without "
         "adding much work."]),
    "attention budget": (
        ["What is an attention budget?", "Why do some layers have more heads?"],
        ["The attention budget of a layer is how many query heads it has times how many positions they look at. Some "
         "models give sliding layers more heads and global layers fewer, to spend the work where it is cheap.",
         "An attention budget says how much looking a layer does for each token. More heads or a longer reach cost more."]),
    "mixture of experts": (
        ["What is a mixture of experts?", "How does a router pick experts?"],
        ["In a mixture of experts layer, a router scores many small networks and sends each token to only a few of "
         "them. The model can be big while each token uses only a small part of it.",
         "A router gives every expert a score for the token and keeps the best few. Only those experts run, so the "
         "cost per token stays small."]),
    "context": (
        ["What is the context?", "What is the context length?"],
        ["The context is all the text the model can see at once: the chat so far and its reply. The context length is "
         "the most tokens it can hold.",
         "The context length is how many tokens fit in the model's memory for one chat. When it is full, the chat has "
         "to start over."]),
    "token": (
        ["What is a token?", "Why does the model use tokens?"],
        ["A token is a small piece of text, like a word or part of a word. The model reads and writes one token at a time.",
         "The model does not see letters or words but tokens, small pieces of text. Each step it picks the next token."]),
    "archscope": (
        ["What is archscope?", "What can I do with archscope?"],
        ["archscope runs language models and shows what happens inside them: which layers keep a cache, how much each "
         "layer looks at, and how the memory grows as we talk.",
         "archscope is a tool to see how new model designs save memory and work. You can chat with a model and watch "
         "its layers at the same time."]),
}
GREETINGS = [("Hi!", "Hello! I am a tiny model trained by archscope. Ask me for a story, or ask me about attention."),
             ("Hello", "Hi! I can tell short stories and explain how models like me use their memory."),
             ("Who are you?", "I am a tiny demo model. I was trained by archscope to tell stories and to explain "
                              "sliding windows, KV caches and other tricks."),
             ("Thank you!", "You are welcome! Ask me anything else about stories or attention."),
             ("How are you?", "I am fine, thank you! Do you want a story?")]


def story(rng, animal=None, adj=None):
    n = rng.choice(NAMES)
    a = animal or rng.choice(ANIMALS)
    adj = adj or rng.choice(ADJECTIVES)
    he = rng.random() < 0.5
    p, q = ("he", "his") if he else ("she", "her")
    friend = rng.choice([x for x in ANIMALS if x != a])
    event, reaction = rng.choice(EVENTS)
    lines = [f"Once upon a time, there was a {adj} {a} named {n}.",
             f"{n} lived {rng.choice(PLACES)}.",
             f"Every day, {n} liked to {rng.choice(LIKES)}.",
             f"One day, {n} {event.format(p=p, q=q, friend=friend)}.",
             f"{n} felt {rng.choice(FEELINGS)}, so {p} {reaction.format(p=p, q=q, friend=friend)}."]
    if rng.random() < 0.6:
        lines.append(f"Then a {friend} came by and said, \"Can I help you?\"")
        lines.append(f"\"Yes, please!\" said {n}.")
    lines.append(rng.choice(ENDINGS).format(n=n, friend=friend))
    return " ".join(lines), a, adj


def chat(rng):
    kind = rng.random()
    if kind < 0.5:
        a, adj = rng.choice(ANIMALS), rng.choice(ADJECTIVES)
        ask = rng.choice(STORY_ASKS).format(a=a, adj=adj)
        text, _, _ = story(rng, a if a in ask else None, adj if adj in ask else None)
        turns = [("user", ask), ("assistant", text)]
    elif kind < 0.9:
        key = rng.choice(list(FACTS))
        questions, answers = FACTS[key]
        turns = [("user", rng.choice(questions)), ("assistant", rng.choice(answers))]
    else:
        turns = list(zip(("user", "assistant"), rng.choice(GREETINGS)))
    # Some chats go on for another turn, so the model learns to continue a conversation.
    if rng.random() < 0.3:
        key = rng.choice(list(FACTS))
        turns += [("user", rng.choice(FACTS[key][0])), ("assistant", rng.choice(FACTS[key][1]))]
    return [{"role": r, "content": c} for r, c in turns]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=40000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for _ in range(args.chats):
        print(json.dumps(chat(rng)))


if __name__ == "__main__":
    main()
