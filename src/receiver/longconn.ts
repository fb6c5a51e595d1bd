/**
 * Feishu's long-connection mode for the receiver: it connects out with the
 * official client (@larksuiteoapi/node-sdk's WSClient, which reconnects with
 * backoff itself), so chat commands and card buttons work without a public
 * URL. Each event goes to the same handler as POST /feishu/events; the card
 * answer travels back over the connection.
 * https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case
 */
import { LoggerLevel, WSClient } from '@larksuiteoapi/node-sdk'
import type { Logger } from '../util/log.js'
import type { EventJson } from './feishu-events.js'
import type { Interactions } from './interactions.js'
import type { Metrics } from './metrics.js'

/** The parts of WSClient 1.74.0 (lib/index.js) that the early-frame fix wraps. */
interface WSClientInternals {
  communicate(): void
  wsConfig: {
    setWSInstance(ws: EarlySocket | null): void
    getWSInstance(): EarlySocket | null
  }
}
interface EarlySocket {
  on(event: 'message', listener: (data: Buffer) => void): void
  off(event: 'message', listener: (data: Buffer) => void): void
  emit(event: 'message', data: Buffer): boolean
}

/**
 * WSClient 1.74.0 adds its frame listener only when its connect promise has
 * settled, but `ws` emits the frames that came with the handshake on a
 * process.nextTick, which runs before promise jobs: an event Feishu pushes the
 * moment the connection opens is dropped, and handled only at Feishu's next
 * push, 15 s later. This keeps such frames from the moment the socket is set
 * and hands them to the client's own listener once it is in place.
 */
function keepEarlyFrames(client: WSClient, onListening: () => void): void {
  const internals = client as unknown as WSClientInternals
  const config = internals.wsConfig
  const early = new WeakMap<EarlySocket, { frames: Buffer[]; keep: (data: Buffer) => void }>()
  const setSocket = config.setWSInstance.bind(config)
  config.setWSInstance = (ws) => {
    if (ws && !early.has(ws)) {
      const frames: Buffer[] = []
      const keep = (data: Buffer) => void frames.push(data)
      ws.on('message', keep)
      early.set(ws, { frames, keep })
    }
    setSocket(ws)
  }
  const communicate = internals.communicate.bind(client)
  internals.communicate = () => {
    communicate()
    const ws = config.getWSInstance()
    const kept = ws ? early.get(ws) : undefined
    if (ws && kept) {
      ws.off('message', kept.keep)
      early.delete(ws)
      for (const frame of kept.frames) ws.emit('message', frame)
    }
    onListening()
  }
}

export class LongConnectionClient {
  private readonly client: WSClient
  /** The client's frame listener is in place on the current connection. */
  private listening = false

  constructor(
    private readonly options: {
      appId: string
      appSecret: string
      baseUrl: string
      interactions: Interactions
      logger: Logger
      metrics: Metrics
    },
  ) {
    const log = options.logger
    const { metrics } = options
    this.client = new WSClient({
      onReady: () => {
        metrics.connection.set(1)
        log.info('feishu long connection up')
      },
      onReconnecting: () => {
        this.listening = false
        metrics.connection.set(0)
        log.warn('feishu long connection lost; reconnecting with backoff')
      },
      onReconnected: () => {
        metrics.connection.set(1)
        metrics.reconnects.inc()
        log.info('feishu long connection re-established')
      },
      onError: (error: Error) => {
        this.listening = false
        metrics.connection.set(0)
        log.error('feishu long connection failed for good', { error: error.message })
      },
      appId: options.appId,
      appSecret: options.appSecret,
      domain: options.baseUrl,
      loggerLevel: LoggerLevel.warn,
      logger: {
        error: (...a: unknown[]) =>
          log.error('feishu long connection', { detail: a.map(String).join(' ') }),
        warn: (...a: unknown[]) =>
          log.warn('feishu long connection', { detail: a.map(String).join(' ') }),
        info: () => {},
        debug: () => {},
        trace: () => {},
      },
    })
    keepEarlyFrames(this.client, () => {
      this.listening = true
    })
  }

  /** Connects; events are handled until close(). */
  async start(): Promise<void> {
    const { interactions } = this.options
    const options = this.options
    // The SDK hands each event's JSON to `invoke` and sends what it returns back to Feishu.
    const dispatcher = {
      invoke: (data: unknown) =>
        new Promise<unknown>((resolve) => {
          const event = (typeof data === 'string' ? JSON.parse(data) : data) as EventJson
          void interactions.onEvent(event, resolve).catch((error: unknown) => {
            // Not handled (the database down, a bug): Feishu pushes it again later; say so.
            options.logger.error(
              'a Feishu event over the long connection failed; Feishu will push it again',
              {
                type: event.header?.event_type ?? event.type,
                eventId: event.header?.event_id,
                error: error instanceof Error ? error.message : String(error),
              },
            )
            resolve({})
          })
        }),
    }
    await this.client.start({ eventDispatcher: dispatcher as never })
  }

  /** Whether events can be handled now (GET /readyz): connected, and the client listening. */
  get up(): boolean {
    return this.listening && this.client.getConnectionStatus().state === 'connected'
  }

  close(): void {
    this.client.close({ force: true })
  }
}
