"""A model of the Hopper kernels' synchronization, checked under random schedules.

The kernels in native/cuda (gemmKernel in hopper_gemm.cuh, persistentGemmKernel
and pingPongGemmKernel in hopper_persistent.cuh) coordinate a copy warp, the
tensor copy engine and the math warps through mbarriers (a ring of stages,
each with a `full` and an `empty` barrier) and named barriers (staging and,
in ping-pong, turns). A mistake there hangs the GPU or reads a stage before
it lands, and only shows on a GPU. This model replays each kernel's sequence
of waits and arrivals per warp, with the PTX semantics of the barriers
(mbarrier try_wait.parity P succeeds iff the current phase's parity is not P;
bar.sync/bar.arrive complete when the count has arrived), under many random
interleavings and copy delays, and checks:
  - no deadlock;
  - a math warp reads a stage only when it holds that step's data;
  - the copy engine never overwrites a stage that a math warp has not released;
  - the staging holds the current part of the current tile for every reader
    (and, for gemmKernel, that no copy is in flight into the ring it reuses).
It also runs broken variants (no turn barrier, a wrong arrival count, no
barrier before staging) and requires the model to catch each, so that the
checks above can fail. Run: python3 bench/gpu/pipeline_model.py
"""
import random
import sys


class ModelError(Exception):
    pass


class MBarrier:
    def __init__(self, expected):
        self.expected, self.pending, self.tx, self.phase = expected, expected, 0, 0

    def _maybe_complete(self):
        if self.pending == 0 and self.tx == 0:
            self.phase += 1
            self.pending = self.expected

    def arrive(self, tx=0):
        if self.pending == 0:
            raise ModelError("arrival on a completed phase")
        self.tx += tx
        self.pending -= 1
        self._maybe_complete()

    def complete_tx(self, tx):
        self.tx -= tx
        self._maybe_complete()

    def passes(self, parity):  # mbarrier.try_wait.parity
        return (self.phase & 1) != parity


class NamedBarrier:
    def __init__(self):
        self.arrived, self.generation = 0, 0

    def arrive(self, warps):
        self.arrived += 1
        if self.arrived == warps:
            self.arrived, self.generation = 0, self.generation + 1


class Block:
    """Shared state of one thread block: barriers, ring slots, staging."""

    def __init__(self, stages, empty_count, math_warps):
        self.full = [MBarrier(1) for _ in range(stages)]
        self.empty = [MBarrier(empty_count) for _ in range(stages)]
        self.slot = [None] * stages  # the step whose data a stage holds
        self.readers = [set() for _ in range(stages)]  # warps that have not released it
        self.named = {}
        self.staging = {}  # (buffer, warp) -> tag of what that warp staged
        self.copies = []  # copies in flight: (stage, step)
        self.math_warps = math_warps

    def named_barrier(self, ident):
        return self.named.setdefault(ident, NamedBarrier())


# Each warp is a generator of actions: ("wait", predicate) blocks until the
# predicate holds; ("do", function) runs at once.

def wait_mbar(bar, parity):
    return ("wait", lambda: bar.passes(parity))


def bar_sync(block, ident, warps):
    nb = block.named_barrier(ident)

    def arrive():
        state["target"] = nb.generation + 1
        nb.arrive(warps)

    state = {}
    yield ("do", arrive)
    yield ("wait", lambda: nb.generation >= state["target"])


def bar_arrive(block, ident, warps):
    yield ("do", lambda: block.named_barrier(ident).arrive(warps))


def copy_warp(block, tile_list, k_steps, stages, stage_bytes):
    step = 0
    for _t in tile_list:
        for _k in range(k_steps):
            s = step % stages
            if step >= stages:
                yield wait_mbar(block.empty[s], (step // stages - 1) & 1)

            def issue(s=s, step=step):
                if block.readers[s]:
                    raise ModelError(f"copy of step {step} into stage {s} still read by {sorted(block.readers[s])}")
                block.full[s].arrive(tx=stage_bytes)
                block.copies.append((s, step))

            yield ("do", issue)
            step += 1


def multiply(block, warp, step, stages):
    s = step % stages
    yield wait_mbar(block.full[s], (step // stages) & 1)

    def read():
        if block.slot[s] != step:
            raise ModelError(f"warp {warp} read stage {s} for step {step} but it holds step {block.slot[s]}")
        block.readers[s].add(warp)

    yield ("do", read)

    def release():  # after wgmma.wait_group 0: the stage has been read
        block.readers[s].discard(warp)
        block.empty[s].arrive()

    yield ("do", release)


def staged_part(block, warp, buffer, peers, tag, barrier, warps, sync_first=True, ring_staging=False):
    if sync_first:
        yield from bar_sync(block, barrier, warps)

    def write():
        if ring_staging and block.copies:
            raise ModelError(f"warp {warp} stages into the ring while copies are in flight")
        block.staging[(buffer, warp)] = tag

    yield ("do", write)
    yield from bar_sync(block, barrier, warps)

    def read():
        for peer in peers:
            if block.staging.get((buffer, peer)) != tag:
                raise ModelError(f"warp {warp} read staging {buffer} of {peer}: "
                                 f"{block.staging.get((buffer, peer))}, expected {tag}")

    yield ("do", read)


def tile_kernel_warp(block, warp, k_steps, stages):  # gemmKernel: one tile, staging in the ring
    for k in range(k_steps):
        yield from multiply(block, warp, k, stages)
    yield from staged_part(block, warp, 0, range(8), ("tile", 0), 1, 8, ring_staging=True)


def persistent_warp(block, warp, tile_list, k_steps, stages, parts, broken=None):
    step = 0
    for t in tile_list:
        for _k in range(k_steps):
            yield from multiply(block, warp, step, stages)
            step += 1
        for part in range(parts):
            yield from staged_part(block, warp, 0, range(8), (t, part), 1, 8,
                                   sync_first=broken != "no-staging-barrier")


def ping_pong_warp(block, warp, tile_list, k_steps, stages, parts, broken=None):
    group = warp // 4
    peers = range(4 * group, 4 * group + 4)
    for i in range(group, len(tile_list), 2):
        if i > 0 and broken != "no-turns":
            yield from bar_sync(block, 3 + group, 8)
        for k in range(k_steps):
            yield from multiply(block, warp, i * k_steps + k, stages)
        if i + 1 < len(tile_list) and broken != "no-turns":
            yield from bar_arrive(block, 3 + (1 - group), 8)
        for part in range(parts):
            yield from staged_part(block, warp, group, peers, (tile_list[i], part), 1 + group, 4)


def simulate(kernel, k_steps, stages, tiles, rng, broken=None):
    """Runs one block's schedule to the end; raises ModelError on a violation."""
    parts = 2
    if kernel == "tiles":
        tile_list, empty_count, math = [0], 8, 8
    elif kernel == "persistent":
        tile_list, empty_count, math = list(range(tiles)), 8, 8
    else:
        tile_list, empty_count, math = list(range(tiles)), 4, 8
    if broken == "empty-count":
        empty_count = 8 if empty_count == 4 else 4
    block = Block(stages, empty_count, math)
    actors = {"copy": copy_warp(block, tile_list, k_steps, stages, 1000)}
    for w in range(math):
        if kernel == "tiles":
            actors[w] = tile_kernel_warp(block, w, k_steps, stages)
        elif kernel == "persistent":
            actors[w] = persistent_warp(block, w, tile_list, k_steps, stages, parts, broken)
        else:
            actors[w] = ping_pong_warp(block, w, tile_list, k_steps, stages, parts, broken)
    current = {}
    for name, gen in actors.items():
        first = next(gen, None)
        if first is not None:
            current[name] = first
    while current or block.copies:
        ready = [n for n, a in current.items() if a[0] == "do" or a[1]()]
        choices = ready + (["engine"] if block.copies else [])
        if not choices:
            raise ModelError("deadlock: " + ", ".join(str(n) for n in current))
        pick = rng.choice(choices)
        if pick == "engine":  # a copy lands (in any order)
            s, step = block.copies.pop(rng.randrange(len(block.copies)))
            block.slot[s] = step
            block.full[s].complete_tx(1000)
            continue
        action = current[pick]
        if action[0] == "do":
            action[1]()
        following = next(actors[pick], None)
        if following is None:
            del current[pick]
        else:
            current[pick] = following


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    shapes = [(k, s, t) for k in (1, 2, 3, 5, 12) for s in (3, 4) for t in (1, 2, 3, 5)]
    runs = 0
    for kernel in ("tiles", "persistent", "pingpong"):
        for k_steps, stages, tiles in shapes:
            for _ in range(40):
                simulate(kernel, k_steps, stages, tiles, rng)
                runs += 1
    print(f"pipeline model: {runs} random schedules of gemmKernel, persistent and ping-pong: no violation")

    # The checks must catch broken protocols.
    for kernel, broken, shape in (("pingpong", "no-turns", (12, 4, 5)), ("pingpong", "empty-count", (12, 4, 3)),
                                  ("persistent", "no-staging-barrier", (3, 3, 3)),
                                  ("persistent", "empty-count", (12, 4, 2))):
        caught = None
        for _ in range(200):
            try:
                simulate(kernel, *shape, rng, broken)
            except ModelError as e:
                caught = e
                break
        if caught is None:
            print(f"FAIL: the model did not catch {kernel} with {broken}")
            sys.exit(1)
        print(f"caught {kernel} with {broken}: {caught}")


if __name__ == "__main__":
    main()
