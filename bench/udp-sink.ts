/**
 * A helper process of the throughput step's floor: a plain dgram member of a multicast group on
 * loopback (4 MiB receive buffer, as the UDP bridge asks for) that counts datagrams. It prints
 * `ready`, then `count N LAST` (LAST: wall-clock ms of the last datagram) whenever N changed,
 * at most every 20 ms.
 *
 *   node --import tsx bench/udp-sink.ts PORT
 */
import { createSocket } from 'node:dgram'

const port = Number(process.argv[2])
const socket = createSocket({ type: 'udp4', reuseAddr: true })
await new Promise<void>(resolve => socket.bind(port, resolve))
socket.addMembership('239.0.0.2', '127.0.0.1')
socket.setRecvBufferSize(4 * 1024 * 1024)
let count = 0
let last = 0
let reported = 0
socket.on('message', () => { count++; last = performance.timeOrigin + performance.now() })
setInterval(() => {
  if (count === reported) return
  reported = count
  console.log(`count ${count} ${Math.round(last)}`)
}, 20)
console.log('ready')
process.once('SIGTERM', () => { socket.close(); process.exit(0) })
