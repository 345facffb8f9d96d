/** One measured figure of `npm run bench`, as written to bench/results.json. */
export interface Figure {
  name: string
  unit: string
  median: number
  p99: number
  max: number
  /** The same measurement of what this project cannot beat (raw UDP, native swipl), in the same run. */
  floor?: { name: string, median: number, p99: number, max: number }
}
