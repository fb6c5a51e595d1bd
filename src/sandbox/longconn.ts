/**
 * Feishu's long connection (WebSocket) mode, as the sandbox serves it: the
 * app asks `POST /callback/ws/endpoint` with its id and secret, connects to
 * the URL it gets, pings, and receives events and card callbacks as `pbbp2`
 * data frames, answering each with the same frame and a JSON payload
 * `{code, data: base64(handler result)}`. With several connections, each
 * event goes to one of them (cluster mode).
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { decodeFrame, encodeFrame, type Frame } from './pbbp2.js'

/** Seconds, as Feishu's endpoint answers them. */
const CLIENT_CONFIG = {
  PingInterval: 120,
  ReconnectCount: -1,
  ReconnectInterval: 2,
  ReconnectNonce: 1,
}

export class LongConnection {
  private readonly wss = new WebSocketServer({ noServer: true })
  private readonly clients: WebSocket[] = []
  private next = 0
  private seq = 1n
  private readonly waiting = new Map<string, (frame: Frame) => void>()
  /** Connections accepted so far (tests watch reconnects). */
  accepted = 0

  constructor(private readonly app: { appId: string; appSecret: string; url: () => string }) {}

  get connected(): number {
    return this.clients.length
  }

  /** POST /callback/ws/endpoint: the URL to connect to, or Feishu's error for bad credentials. */
  endpoint(body: unknown): { code: number; msg: string; data?: unknown } {
    const input = (body ?? {}) as { AppID?: unknown; AppSecret?: unknown }
    if (input.AppID !== this.app.appId || input.AppSecret !== this.app.appSecret)
      return { code: 1000040351, msg: 'incorrect app_id or app_secret' }
    const url = new URL(this.app.url())
    url.protocol = 'ws:'
    url.pathname = '/callback/ws'
    url.search = `?device_id=sandbox-${this.accepted + 1}&service_id=1`
    return { code: 0, msg: 'ok', data: { URL: url.toString(), ClientConfig: CLIENT_CONFIG } }
  }

  /** Takes WebSocket upgrades on /callback/ws. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!(req.url ?? '').startsWith('/callback/ws')) {
        socket.destroy()
        return
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws))
    })
  }

  /** Drops every connection, as a network failure would (the client reconnects). */
  dropAll(): void {
    for (const ws of [...this.clients]) ws.terminate()
  }

  close(): void {
    this.dropAll()
    this.wss.close()
  }

  /**
   * Delivers an event (or card callback) to one connected client and waits
   * for its answer: `{status, body}` like an HTTP delivery, body being the
   * handler's result; undefined when no client is connected. Like Feishu, an
   * event left unanswered (the client busy, or not listening yet right after
   * connecting) is pushed again, up to three times.
   */
  async deliver(
    event: unknown,
    timeoutMs = 3000,
  ): Promise<{ status: number; body: unknown } | undefined> {
    if (this.clients.length === 0) return undefined
    let answer: { status: number; body: unknown } | undefined
    for (let attempt = 0; attempt < 3; attempt++) {
      answer = await this.push(event, timeoutMs)
      if (answer.status !== 0 || this.clients.length === 0) break
    }
    return answer
  }

  private async push(
    event: unknown,
    timeoutMs: number,
  ): Promise<{ status: number; body: unknown }> {
    const ws = this.clients[this.next++ % this.clients.length]!
    const messageId = `sandbox-${this.seq}`
    const frame: Frame = {
      SeqID: this.seq++,
      LogID: 0n,
      service: 1,
      method: 1,
      headers: [
        { key: 'type', value: 'event' },
        { key: 'message_id', value: messageId },
        { key: 'sum', value: '1' },
        { key: 'seq', value: '0' },
        { key: 'trace_id', value: messageId },
      ],
      payload: new TextEncoder().encode(JSON.stringify(event)),
    }
    const answer = new Promise<Frame | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(messageId)
        resolve(undefined)
      }, timeoutMs)
      this.waiting.set(messageId, (f) => {
        clearTimeout(timer)
        resolve(f)
      })
    })
    ws.send(encodeFrame(frame))
    const reply = await answer
    if (!reply?.payload) return { status: 0, body: 'no answer over the long connection' }
    const json = JSON.parse(new TextDecoder().decode(reply.payload)) as {
      code: number
      data?: string
    }
    const body = json.data ? JSON.parse(Buffer.from(json.data, 'base64').toString('utf8')) : {}
    return { status: json.code, body }
  }

  private accept(ws: WebSocket): void {
    this.accepted++
    this.clients.push(ws)
    ws.on('message', (data: Buffer) => {
      let frame: Frame
      try {
        frame = decodeFrame(new Uint8Array(data))
      } catch {
        return
      }
      const header = (key: string) => frame.headers.find((h) => h.key === key)?.value
      if (frame.method === 0 && header('type') === 'ping') {
        const pong: Frame = {
          ...frame,
          headers: [{ key: 'type', value: 'pong' }],
          payload: new TextEncoder().encode(JSON.stringify(CLIENT_CONFIG)),
        }
        ws.send(encodeFrame(pong))
        return
      }
      const id = header('message_id')
      if (frame.method === 1 && id) this.waiting.get(id)?.(frame)
    })
    ws.on('close', () => {
      const i = this.clients.indexOf(ws)
      if (i >= 0) this.clients.splice(i, 1)
    })
  }
}
