import { afterAll } from 'vitest'
import { killAll } from './processes.ts'

// No process a test started outlives its test file, whatever happened in it.
afterAll(killAll)
