/**
 * The header's network status: one line that says whether the signallers are reachable, and when
 * none is, what failed and when the next try is (the peer keeps retrying with backoff).
 */
import type { SignallerStatus } from '../peer-view.ts'

export function showConnection (element: HTMLElement, statuses: readonly SignallerStatus[]): void {
  const up = statuses.filter(s => s.state === 'up')
  const down = statuses.filter((s): s is Extract<SignallerStatus, { state: 'down' }> => s.state === 'down')
  if (up.length > 0) {
    element.dataset.state = 'ready'
    element.textContent = `online via ${up.map(s => s.address).join(', ')}`
    element.title = down.map(s => s.error).join('\n')
  } else if (down.length > 0) {
    const first = down[0]
    element.dataset.state = 'failed'
    element.textContent = `offline: ${first.error} Retrying in ${Math.ceil(first.retryInMs / 1000)} s.`
    element.title = down.map(s => s.error).join('\n')
  } else {
    element.dataset.state = 'busy'
    element.textContent = statuses.length === 0 ? 'no signaller configured' : `connecting to ${statuses.map(s => s.address).join(', ')}…`
    element.title = ''
  }
}
