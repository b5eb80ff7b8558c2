// siglip-loss/mpi: the batch across MPI ranks. initWorld() gives the world that
// options.world takes; see docs/distributed.md.
export { initWorld, type RingStats, type World, type WorldOptions } from './world';
