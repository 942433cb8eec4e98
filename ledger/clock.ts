/** Time source port. Cores never read the wall clock; the node injects `systemClock`, the simulator a virtual one. */
export interface Clock {
  /** Milliseconds since the Unix epoch (or since the simulation start). */
  now(): number;
}
