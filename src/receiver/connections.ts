import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * One host may not hold more than `cap` connections that have not finished
 * their first request's headers (a slow-header flood). A busy sender (an
 * ingress, one Alertmanager in a storm) holds many connections with requests
 * in flight: those stop counting once their request arrives, so it is never
 * refused for being busy. The time limits (headersTimeout) end the slow ones.
 */
export function capWaitingPerAddress(server: Server, cap: number, onRefused: () => void): void {
  const waiting = new Map<string, number>()
  const counted = new WeakMap<Socket, string>()
  const settle = (socket: Socket) => {
    const ip = counted.get(socket)
    if (ip === undefined) return
    counted.delete(socket)
    const left = (waiting.get(ip) ?? 1) - 1
    if (left > 0) waiting.set(ip, left)
    else waiting.delete(ip)
  }
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '?'
    const n = (waiting.get(ip) ?? 0) + 1
    if (n > cap) {
      onRefused()
      socket.destroy()
      return
    }
    waiting.set(ip, n)
    counted.set(socket, ip)
    socket.once('close', () => settle(socket))
  })
  server.on('request', (req) => settle(req.socket))
}
