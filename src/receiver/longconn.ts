/**
 * Feishu's long-connection mode for the receiver: it connects out with the
 * official client (@larksuiteoapi/node-sdk's WSClient, which reconnects with
 * backoff itself), so chat commands and card buttons work without a public
 * URL. Each event goes to the same handler as POST /feishu/events; the card
 * answer travels back over the connection.
 * https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case
 */
import { LoggerLevel, WSClient } from '@larksuiteoapi/node-sdk'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { EventJson } from './feishu-events.js'
import type { Interactions } from './interactions.js'

export class LongConnectionClient {
  private readonly client: WSClient

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
        metrics.connection.set(0)
        log.warn('feishu long connection lost; reconnecting with backoff')
      },
      onReconnected: () => {
        metrics.connection.set(1)
        metrics.reconnects.inc()
        log.info('feishu long connection re-established')
      },
      onError: (error: Error) => {
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
  }

  /** Connects; events are handled until close(). */
  async start(): Promise<void> {
    const { interactions } = this.options
    // The SDK hands each event's JSON to `invoke` and sends what it returns back to Feishu.
    const dispatcher = {
      invoke: (data: unknown) =>
        new Promise<unknown>((resolve) => {
          const event = (typeof data === 'string' ? JSON.parse(data) : data) as EventJson
          void interactions.onEvent(event, resolve).catch(() => resolve({}))
        }),
    }
    await this.client.start({ eventDispatcher: dispatcher as never })
  }

  /** Whether events can arrive now (GET /readyz). */
  get up(): boolean {
    return this.client.getConnectionStatus().state === 'connected'
  }

  close(): void {
    this.client.close({ force: true })
  }
}
