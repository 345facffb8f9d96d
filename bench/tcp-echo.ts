/**
 * A diagnostic, not a figure of `npm run bench`: what one message costs this machine when it wakes
 * a process, with nothing of P2P Prolog in the way. Two Node processes on loopback TCP (no Nagle)
 * echo a 200-byte message, one round trip at a time, RATE round trips a second; printed: the round
 * trip time and the CPU time each side spent per round trip (user + system, from the kernel).
 *
 * Every event of the network wakes several threads in turn (a node peer's main thread and its
 * engine worker, the signaller, a page's renderer and Chromium's network service); where waking
 * one costs hundreds of µs of CPU, a few hundred events a second fill two cores.
 *
 *   node --import tsx bench/tcp-echo.ts [RATE] [COUNT]
 */
import { fork } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, sleep, stats } from './support.ts'

if (process.argv[2] === 'echo') {
  const server = createServer({ noDelay: true }, (socket) => { socket.on('data', (data) => { socket.write(data) }) })
  server.listen(0, '127.0.0.1', () => { process.send?.((server.address() as { port: number }).port) })
} else {
  const rate = Number(process.argv[2] ?? 200)
  const count = Number(process.argv[3] ?? 1000)
  const child = fork(fileURLToPath(import.meta.url), ['echo'], { execArgv: ['--import', 'tsx'] })
  const port = await new Promise<number>(resolve => child.once('message', message => { resolve(message as number) }))
  const socket = connect({ port, host: '127.0.0.1', noDelay: true })
  await new Promise(resolve => socket.once('connect', resolve))
  const message = Buffer.alloc(200, 1)
  const roundTrips: number[] = []
  const echoStat = `/proc/${child.pid as number}/stat`
  const echoBefore = await cpuSeconds(echoStat) ?? 0
  const before = process.cpuUsage()
  for (let i = 0; i < count; i++) {
    const sent = performance.now()
    const echoed = new Promise(resolve => socket.once('data', resolve))
    socket.write(message)
    await echoed
    roundTrips.push(performance.now() - sent)
    await sleep(1000 / rate)
  }
  const used = process.cpuUsage(before)
  const echoUsed = (await cpuSeconds(echoStat) ?? echoBefore) - echoBefore
  const rtt = stats(roundTrips)
  console.log(`TCP echo on loopback, 200 B, ${rate}/s: round trip median ${rtt.median.toFixed(3)} ms, p99 ${rtt.p99.toFixed(3)} ms; ` +
    `CPU per round trip: sender ${((used.user + used.system) / count).toFixed(0)} µs (of it system ${(used.system / count).toFixed(0)}), ` +
    `echo ${(echoUsed * 1e6 / count).toFixed(0)} µs (timers and event loop included)`)
  socket.destroy()
  child.kill()
}
