#!/usr/bin/env python3
"""A model of the barrier protocol of the CUDA INT8 warp-specialized kernel (conv_int8_ws_kernel in
engine/backends/cuda/kernels/conv_int8.cu), run under random interleavings of its three warpgroups.

What is modelled, as the kernel does it: a producer filling a ring of STAGES stages in block order,
waiting on a stage's `empty` barrier before refilling it and arriving on a block's `full` barrier
DEPTH = STAGES - 2 blocks later (when its copies have landed); consumers waiting on `full` with a parity
wait (mbarrier.try_wait.parity: complete when the phase index's parity differs from the operand, so
phase k cannot be told from phase k - 2) and releasing block g - 1 once block g is issued, the tile's
last block at its end. Cooperative: both consumers read every block (`empty` takes 2 arrivals).
Ping-pong: consumer c takes the CTA's tiles c, c + 2, ... (skipping the other's blocks) and starts a
tile only once the other has finished the tile before it (`done` barriers).

Each stage's content is checked when a consumer reads it and when it releases it, and a run that
makes no progress is a deadlock. The ping-pong order is also checked to be necessary: without the
`done` wait, some interleavings read a stage two phases ahead (the parity aliasing that trapped the
first ping-pong kernel on the H100, docs/int8.md, thirteenth session).

Usage: scripts/tools/ws_protocol_sim.py   (exit 0: every case correct, and the check without the
order barrier fails as it must)
"""
import random
import sys


class Barrier:
    def __init__(self, count):
        self.count, self.pending, self.phase = count, count, 0

    def arrive(self):
        self.pending -= 1
        if self.pending == 0:
            self.phase += 1
            self.pending = self.count

    def parity_done(self, parity):
        return (self.phase & 1) != parity


def run(stages, kb_count, tiles, pingpong, seed, order=True):
    rnd = random.Random(seed)
    depth = stages - 2
    full = [Barrier(1) for _ in range(stages)]
    empty = [Barrier(1 if pingpong else 2) for _ in range(stages)]
    done = [Barrier(1), Barrier(1)]
    content = [None] * stages
    total = tiles * kb_count

    def producer():
        for g in range(total):
            s = g % stages
            if g >= stages:
                while not empty[s].parity_done(((g // stages) - 1) & 1):
                    yield
            content[s] = g
            yield
            if g >= depth:
                full[(g - depth) % stages].arrive()
        for b in range(max(total - depth, 0), total):
            full[b % stages].arrive()

    def consumer(c):
        g = 0
        for i in range(tiles):
            if pingpong and (i & 1) != c:
                g += kb_count
                continue
            if pingpong and order and i > 0:
                while not done[1 - c].parity_done(((i - 1) // 2) & 1):
                    yield
            for kb in range(kb_count):
                s = g % stages
                while not full[s].parity_done((g // stages) & 1):
                    yield
                assert content[s] == g, f"consumer {c} read block {content[s]} for {g}"
                yield
                if kb > 0:
                    assert content[(g - 1) % stages] == g - 1, f"block {g - 1} overwritten before its release"
                    empty[(g - 1) % stages].arrive()
                g += 1
            assert content[(g - 1) % stages] == g - 1, f"block {g - 1} overwritten before its release"
            empty[(g - 1) % stages].arrive()
            if pingpong:
                done[c].arrive()
            yield

    agents = [producer(), consumer(0), consumer(1)]
    alive = [0, 1, 2]
    for _ in range(500000):
        if not alive:
            return "ok"
        a = rnd.choice(alive)
        try:
            next(agents[a])
        except StopIteration:
            alive.remove(a)
    return "deadlock"


def failures(pingpong, order=True, report=True):
    bad = 0
    for stages in (5, 6, 8):
        for kb_count in (1, 2, 3, 4, 5, 9, 18):
            for tiles in (1, 2, 3, 5, 8):
                for seed in range(20):
                    try:
                        result = run(stages, kb_count, tiles, pingpong, seed, order)
                    except AssertionError as e:
                        result = f"error: {e}"
                    if result != "ok":
                        bad += 1
                        if report and bad <= 5:
                            mode = "ping-pong" if pingpong else "cooperative"
                            print(f"{mode}: stages {stages}, {kb_count} blocks a tile, {tiles} tiles, "
                                  f"seed {seed}: {result}")
    return bad


def main():
    coop, pp = failures(False), failures(True)
    unordered = failures(True, order=False, report=False)
    print(f"cooperative: {coop} failing runs; ping-pong: {pp}; ping-pong without the order barrier: "
          f"{unordered} (must be > 0)")
    return 0 if coop == 0 and pp == 0 and unordered > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
