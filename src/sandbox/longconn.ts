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

/**
 * When Feishu pushes an event again that no client answered within 3 s:
 * after 15 s, 5 min, 1 h and 6 h, at most 4 times (callbacks never again).
 * https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case
 */
export const REPUSH_DELAYS_MS = [15_000, 300_000, 3_600_000, 21_600_000]

export class LongConnection {
  private readonly wss = new WebSocketServer({ noServer: true })
  private readonly clients: WebSocket[] = []
  private next = 0
  private seq = 1n
  private readonly waiting = new Map<string, (frame: Frame) => void>()
  /** Connections accepted so far (tests watch reconnects). */
  accepted = 0
  /** Every push of an event or callback, in order (tests check the schedule). */
  readonly pushes: Array<{ eventId: string; at: number; answered: boolean }> = []
  /** Events waiting for a client, pushed the moment one connects. */
  private readonly pending: unknown[] = []
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Until when connections are refused (a network outage). */
  private downUntil = 0

  constructor(
    private readonly app: {
      appId: string
      appSecret: string
      url: () => string
      /** The re-push schedule (tests shorten it). */
      repushDelaysMs?: readonly number[]
    },
  ) {}

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
      if (!(req.url ?? '').startsWith('/callback/ws') || Date.now() < this.downUntil) {
        socket.destroy()
        return
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws))
    })
  }

  /**
   * Drops every connection, as a network failure would (the client
   * reconnects); with `downMs`, connections are refused for that long.
   */
  dropAll(downMs = 0): void {
    this.downUntil = Date.now() + downMs
    for (const ws of [...this.clients]) ws.terminate()
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.dropAll()
    this.wss.close()
  }

  /**
   * Delivers an event (or card callback) to one connected client and waits
   * for its answer: `{status, body}` like an HTTP delivery, body being the
   * handler's result; undefined when no client is connected and `hold` is
   * false. An event left unanswered within 3 s is pushed again on Feishu's
   * schedule (REPUSH_DELAYS_MS) in the background; a callback never is (the
   * person sees an error). With `hold`, an event that finds no client waits
   * for the next one to connect and is pushed the moment it does.
   */
  async deliver(
    event: unknown,
    options: { callback?: boolean; hold?: boolean; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: unknown } | undefined> {
    if (this.clients.length === 0) {
      if (!options.hold || options.callback) return undefined
      this.pending.push(event)
      return { status: 0, body: 'held until a client connects' }
    }
    const answer = await this.push(event, options.timeoutMs ?? 3000)
    if (answer.status === 0 && !options.callback) this.repush(event, 0)
    return answer
  }

  private repush(event: unknown, attempt: number): void {
    const delays = this.app.repushDelaysMs ?? REPUSH_DELAYS_MS
    if (attempt >= delays.length) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.clients.length === 0) return this.repush(event, attempt + 1)
      void this.push(event, 3000).then((a) => {
        if (a.status === 0) this.repush(event, attempt + 1)
      })
    }, delays[attempt])
    timer.unref()
    this.timers.add(timer)
  }

  private async push(
    event: unknown,
    timeoutMs: number,
    to?: WebSocket,
  ): Promise<{ status: number; body: unknown }> {
    const ws = to ?? this.clients[this.next++ % this.clients.length]!
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
    const push = { eventId: eventIdOf(event), at: Date.now(), answered: false }
    this.pushes.push(push)
    const reply = await answer
    if (!reply?.payload) return { status: 0, body: 'no answer over the long connection' }
    push.answered = true
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
    // Held events go out at once, in the same turn as the handshake's answer.
    for (const event of this.pending.splice(0))
      void this.push(event, 3000, ws).then((a) => {
        if (a.status === 0) this.repush(event, 0)
      })
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

function eventIdOf(event: unknown): string {
  return String((event as { header?: { event_id?: string } })?.header?.event_id ?? '')
}
