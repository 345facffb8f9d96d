/** One measured figure of `npm run bench`, as written to bench/results.json. */
export interface Figure {
  name: string
  unit: string
  median: number
  p99: number
  max: number
  /** How many samples the statistics are over (1 for a single measurement). */
  samples?: number
  /**
   * The same measurement of what this project cannot beat (raw UDP multicast, native swipl, a
   * bare libp2p client), taken in the same run.
   */
  floor?: Floor
  /** What a user would otherwise pick (Redis pub/sub), measured in the same run. */
  reference?: Floor
  /** The figure issue 6 asks for, and whether this run reached it. */
  target?: { text: string, met: boolean }
  /** How the figure was taken, when the name cannot say it. */
  note?: string
  /** Extra measurements behind the figure (e.g. each rate tried). */
  detail?: unknown
}

export interface Floor { name: string, median: number, p99: number, max: number }

/** A step that failed: the table says so, and the run goes on with the other steps. */
export interface Failure { step: string, error: string }
