"""A model of the Hopper kernels' synchronization, checked under random schedules.

The kernels in native/cuda (gemmKernel in hopper_gemm.cuh, pingPongGemmKernel
in hopper_pingpong.cuh) coordinate a copy warp, the
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
barrier before staging, a stage never released, warps of a warpgroup that
disagree on a tile's path, as many steps in flight as stages, a G tile
rewritten before the copy engine has read it) and requires the model to
catch each, so that the checks above can fail. Run: python3 bench/gpu/pipeline_model.py
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
    """Shared state of one thread block (a CTA): barriers, ring slots, staging."""

    def __init__(self, stages, empty_count, b_boxes):
        self.b_boxes = b_boxes  # B's boxes of 64 columns: 3 for 192-column tiles, 4 for 256
        self.parts = ["A"] + [f"B{i}" for i in range(b_boxes)]
        self.full = [MBarrier(1) for _ in range(stages)]
        self.empty = [MBarrier(empty_count) for _ in range(stages)]
        self.slot = [dict() for _ in range(stages)]  # part -> the step whose data a stage holds
        self.readers = [set() for _ in range(stages)]  # warps that have not released it
        self.named = {}
        self.staging = {}  # (buffer, warp) -> tag of what that warp staged
        # (buffer, warp) -> the tile whose G rows that warp wrote there for the copy
        # engine (they share bytes with every warp's staging rows)
        self.g_rows = {}
        self.store_reads = []  # the copy engine's pending reads of G rows
        self.incoming = 0  # copies in flight into this block
        self.exited = False

    def named_barrier(self, ident):
        return self.named.setdefault(ident, NamedBarrier())


BOX_BYTES = 1000  # bytes of each of B's boxes, and of A


# Each warp is a generator of actions: ("wait", predicate) blocks until the
# predicate holds; ("do", function) runs at once.

def wait_mbar(bar, parity):
    return ("wait", lambda: bar.passes(parity))


def bar_sync(barrier, warps):
    def arrive():
        state["target"] = barrier.generation + 1
        barrier.arrive(warps)

    state = {}
    yield ("do", arrive)
    yield ("wait", lambda: barrier.generation >= state["target"])


def copy_warp(me, tile_list, k_steps, stages, engine):
    """The copy warp: A and B's boxes of every k-step of the block's tiles."""
    step = 0
    for _t in tile_list:
        for _k in range(k_steps):
            s = step % stages
            if step >= stages:
                yield wait_mbar(me.empty[s], (step // stages - 1) & 1)

            def issue(s=s, step=step):
                me.full[s].arrive(tx=(1 + me.b_boxes) * BOX_BYTES)
                if me.readers[s]:
                    raise ModelError(f"copy of step {step} into stage {s} still read by {sorted(me.readers[s])}")
                for part in me.parts:
                    me.incoming += 1
                    engine.append((me, s, step, part))

            yield ("do", issue)
            step += 1


def acquire(me, warp, step, stages):
    """Waits for the step's stage and starts reading it (the wgmma products)."""
    s = step % stages
    yield wait_mbar(me.full[s], (step // stages) & 1)

    def read():
        held = {part: me.slot[s].get(part) for part in me.parts}
        if any(v != step for v in held.values()):
            raise ModelError(f"warp {warp} read stage {s} for step {step} but it holds {held}")
        me.readers[s].add(warp)

    yield ("do", read)


def release(me, warp, step, stages):
    """The step's products are done (wgmma.wait_group): the stage is released."""
    s = step % stages

    def arrive():
        me.readers[s].discard(warp)
        me.empty[s].arrive()

    yield ("do", arrive)


def multiply(me, warp, step, stages):
    yield from acquire(me, warp, step, stages)
    yield from release(me, warp, step, stages)


def staged_part(block, warp, buffer, peers, tag, barrier, warps, sync_first=True, ring_staging=False):
    if sync_first:
        yield from bar_sync(block.named_barrier(barrier), warps)

    def write():
        if ring_staging and block.incoming:
            raise ModelError(f"warp {warp} stages into the ring while copies are in flight")
        block.staging[(buffer, warp)] = tag
        for key in block.g_rows:
            if key[0] == buffer:
                block.g_rows[key] = "overwritten by staging"

    yield ("do", write)
    yield from bar_sync(block.named_barrier(barrier), warps)

    def read():
        for peer in peers:
            if block.staging.get((buffer, peer)) != tag:
                raise ModelError(f"warp {warp} read staging {buffer} of {peer}: "
                                 f"{block.staging.get((buffer, peer))}, expected {tag}")

    yield ("do", read)


def tile_kernel_warp(me, warp, k_steps, stages):
    """gemmKernel: one tile, staging in the ring."""
    for k in range(k_steps):
        yield from multiply(me, warp, k, stages)
    yield from staged_part(me, warp, 0, range(8), ("tile", 0), 1, 8, ring_staging=True)


def g_through_copy_engine(me, warp, group, peers, tile, pending):
    """stmatrix into the warp's rows of the G tile, then the copy engine reads
    them whenever it gets to it (storeTileRows); `pending` counts reads not yet
    done."""
    def write():
        me.g_rows[(group, warp)] = tile
        for peer in peers:
            me.staging[(group, peer)] = "overwritten by a G tile"
        pending[warp] += 1
        me.store_reads.append((group, warp, tile, pending))

    yield ("do", write)


def ping_pong_warp(me, warp, tile_list, k_steps, stages, parts, negatives, in_flight,
                   broken=None):
    """A step's stage is released once in_flight later steps' products are
    issued (TileWork::multiplyInFlight; the kernel keeps 1), the last ones after
    the mainloop (finishInFlight). A tile in `negatives` goes to the epilogue
    from registers, with no staging (all warps of a warpgroup agree), its G
    through the G tile and the copy engine: so each tile's epilogue, and the
    kernel's end, first wait until the engine has read the warp's rows
    (waitTileRead)."""
    pending = {warp: 0}

    def wait_reads():
        if broken != "no-store-wait":
            yield ("wait", lambda: pending[warp] == 0)

    group = warp // 4
    peers = range(4 * group, 4 * group + 4)
    for i in range(group, len(tile_list), 2):
        if i > 0 and broken != "no-turns":
            yield from bar_sync(me.named_barrier(3 + group), 8)
        first = i * k_steps
        for k in range(k_steps):
            yield from acquire(me, warp, first + k, stages)
            if k >= in_flight:
                yield from release(me, warp, first + k - in_flight, stages)
        for k in range(max(k_steps - in_flight, 0), k_steps):
            if broken != "no-last-release" or k < k_steps - 1:
                yield from release(me, warp, first + k, stages)
        if i + 1 < len(tile_list) and broken != "no-turns":
            yield ("do", lambda: me.named_barrier(3 + (1 - group)).arrive(8))
        direct = tile_list[i] in negatives
        if broken == "warps-disagree":
            direct = direct and warp % 4 == 0  # one warp takes a path the others do not
        yield from wait_reads()
        if direct:
            yield from g_through_copy_engine(me, warp, group, peers, tile_list[i], pending)
        for part in range(0 if direct else parts):
            yield from staged_part(me, warp, group, peers, (tile_list[i], part), 1 + group, 4,
                                   sync_first=broken != "no-staging-barrier")
    yield from wait_reads()


def simulate(kernel, k_steps, stages, tiles, rng, broken=None, b_boxes=3, in_flight=1):
    """Runs one block's schedule to the end; raises ModelError on a violation."""
    parts = 2
    tile_list = [0] if kernel == "tiles" else list(range(tiles))
    empty_count = 4 if kernel == "pingpong" else 8
    if broken == "empty-count":
        empty_count = 8 if kernel == "pingpong" else 4
    negatives = {t for t in tile_list if rng.random() < 0.3}
    block = Block(stages, empty_count, b_boxes)
    engine = []
    programs = {"copy": copy_warp(block, tile_list, k_steps, stages, engine)}
    for w in range(8):
        if kernel == "tiles":
            programs[w] = tile_kernel_warp(block, w, k_steps, stages)
        else:
            programs[w] = ping_pong_warp(block, w, tile_list, k_steps, stages, parts, negatives,
                                         in_flight, broken)
    actors = dict(programs)
    current = {}
    for name, gen in actors.items():
        first = next(gen, None)
        if first is not None:
            current[name] = first
    while current or engine or block.store_reads:
        ready = [n for n, a in current.items() if a[0] == "do" or a[1]()]
        choices = ready + (["engine"] if engine else []) + (["store"] if block.store_reads else [])
        if not choices:
            raise ModelError("deadlock: " + ", ".join(str(n) for n in current))
        pick = rng.choice(choices)
        if pick == "store":  # the copy engine reads a warp's G rows
            buffer, warp, tile, pending = block.store_reads.pop(rng.randrange(len(block.store_reads)))
            if block.exited:
                raise ModelError("the copy engine reads G rows after the block exited")
            if block.g_rows.get((buffer, warp)) != tile:
                raise ModelError(f"the copy engine read warp {warp}'s G rows of tile {tile}: "
                                 f"{block.g_rows.get((buffer, warp))}")
            pending[warp] -= 1
            continue
        if pick == "engine":  # a copy lands (in any order)
            dest, s, step, part = engine.pop(rng.randrange(len(engine)))
            if dest.exited:
                raise ModelError("a copy lands after the block exited")
            dest.slot[s][part] = step
            dest.incoming -= 1
            dest.full[s].complete_tx(BOX_BYTES)
            continue
        action = current[pick]
        if action[0] == "do":
            action[1]()
        following = next(actors[pick], None)
        if following is None:
            del current[pick]
            if not current:
                block.exited = True
        else:
            current[pick] = following


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    shapes = [(k, s, t) for k in (1, 2, 3, 5, 12) for s in (3, 4, 6) for t in (1, 2, 3, 5)]
    runs = 0
    for kernel in ("tiles", "pingpong"):
        for k_steps, stages, tiles in shapes:
            if kernel == "tiles" and tiles > 1:
                continue  # one tile per block
            # gemmKernel's B tile: 192 or 256 columns (3 or 4 boxes), 10 schedules
            # each; ping-pong's 128 columns, 30 schedules
            for b_boxes in ((3, 4) if kernel == "tiles" else (3,)):
                for _ in range(10 if kernel == "tiles" else 30):
                    simulate(kernel, k_steps, stages, tiles, rng, b_boxes=b_boxes)
                    runs += 1
    print(f"pipeline model: {runs} random schedules of gemmKernel and ping-pong: no violation")

    # The checks must catch broken protocols.
    for kernel, broken, shape in (("pingpong", "no-turns", (12, 4, 5)), ("pingpong", "empty-count", (12, 4, 3)),
                                  ("pingpong", "no-last-release", (12, 4, 3)),
                                  ("pingpong", "no-staging-barrier", (3, 3, 3)),
                                  ("pingpong", "warps-disagree", (3, 3, 5)),
                                  ("pingpong", "too-deep", (12, 3, 3)),
                                  ("pingpong", "no-store-wait", (2, 3, 5)),
                                  ("tiles", "empty-count", (12, 4, 1))):
        caught = None
        for _ in range(200):
            try:
                if broken == "too-deep":  # products of as many steps in flight as stages
                    simulate(kernel, *shape, rng, in_flight=shape[1])
                else:
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
