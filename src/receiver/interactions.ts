import type { IncomingMessage, ServerResponse } from 'node:http'
import { COMMANDS } from '../commands/index.js'
import type { CommandTable, Parsed } from '../commands/table.js'
import type { Config } from '../config/config.js'
import { PIN_EMOJI } from '../core/moments.js'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import { TOASTS } from '../i18n/index.js'
import { errorMessage } from '../util/errors.js'
import { HttpError, readBody, sendJson } from '../util/http.js'
import type { Logger } from '../util/log.js'
import { type EventJson, EventRejected, openDelivery } from './feishu-events.js'
import type { Metrics } from './metrics.js'
import type { Timelines } from './timelines.js'

const KNOWN_EVENT_TYPES = new Set([
  'im.message.receive_v1',
  'card.action.trigger',
  'card.action.trigger_v1',
  'im.message.reaction.created_v1',
])

export interface InteractionOptions {
  config: Config
  warroom: WarRoom
  logger: Logger
  metrics: Metrics
  timelines: Timelines
  now: () => number
  /** Time a card callback may take before answering with a toast alone (Feishu allows 3 s). */
  callbackBudgetMs?: number
  /** The chat commands and card buttons (default: src/commands/index.ts). */
  commands?: CommandTable
}

/**
 * What people do in a war room: chat commands (im.message.receive_v1) and card
 * buttons (card.action.trigger, and the legacy trigger_v1), delivered to
 * POST /feishu/events, checked, de-duplicated and turned into core calls.
 */
export class Interactions {
  constructor(private readonly options: InteractionOptions) {}

  private get now() {
    return this.options.now
  }

  private get commands() {
    return this.options.commands ?? COMMANDS
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, metrics } = this.options
    const raw = await readBody(req, config.server.body_limit_bytes)
    let event: EventJson
    try {
      event = openDelivery(raw, req.headers, {
        ...(config.feishu.encrypt_key ? { encryptKey: config.feishu.encrypt_key } : {}),
        ...(config.feishu.verification_token
          ? { verificationToken: config.feishu.verification_token }
          : {}),
        ...(config.feishu.app_id ? { appId: config.feishu.app_id } : {}),
        maxSkewSeconds: 300,
        now: this.now,
      })
    } catch (error) {
      if (error instanceof EventRejected) {
        metrics.events.inc({ type: 'unknown', outcome: 'rejected' })
        throw new HttpError(error.status, error.message)
      }
      throw error
    }
    if (event.type === 'url_verification') {
      metrics.events.inc({ type: 'url_verification', outcome: 'ok' })
      return sendJson(res, 200, { challenge: String(event.challenge ?? '') })
    }
    return this.onEvent(event, (body) => sendJson(res, 200, body))
  }

  /**
   * One event or card callback, however it arrived (HTTP, or the long
   * connection): `respond` gets the answer (a toast and card for a click) as
   * soon as it is known; the work may go on after it.
   */
  async onEvent(event: EventJson, respond: (body: unknown) => void): Promise<void> {
    const { config, metrics, logger, warroom } = this.options
    const type: string =
      event.header?.event_type ??
      (event.action && event.open_message_id
        ? 'card.action.trigger_v1'
        : (event.event?.type ?? 'unknown'))
    // Metric labels from a fixed set: an unverified sender must not mint new time series.
    const label = KNOWN_EVENT_TYPES.has(type) ? type : 'other'
    const eventId: string | undefined = event.header?.event_id ?? event.uuid
    // Claimed in the store: a redelivery to another replica is recognised too.
    if (eventId && !(await warroom.claimOnce(`e:${eventId}`))) {
      metrics.events.inc({ type: label, outcome: 'duplicate' })
      return respond({})
    }

    if (type === 'im.message.receive_v1') {
      const message = event.event?.message ?? {}
      if (message.message_id && !(await warroom.claimOnce(`m:${message.message_id}`))) {
        metrics.events.inc({ type: label, outcome: 'duplicate' })
        return respond({})
      }
      const command = this.commandOf(event)
      respond({}) // answer now; Feishu wants an answer within 3 s
      // Whoever writes in the war room has seen it: no longer time-sensitive for them.
      const sender = event.event?.sender?.sender_id?.open_id
      if (typeof sender === 'string' && event.event?.sender?.sender_type === 'user')
        await warroom
          .answered({ chatId: String(message.chat_id) }, { openId: sender })
          .catch((error: unknown) =>
            logger.warn('could not clear time-sensitive', { error: errorMessage(error) }),
          )
      if (!command) {
        metrics.events.inc({ type: label, outcome: 'ignored' })
        return
      }
      const by = { openId: event.event?.sender?.sender_id?.open_id as string | undefined }
      try {
        const result = await this.runCommand(
          command,
          { chatId: String(message.chat_id) },
          by,
          String(message.message_id),
        )
        metrics.events.inc({ type: label, outcome: result.action })
      } catch (error) {
        metrics.events.inc({ type: label, outcome: 'error' })
        logger.error('chat command failed', {
          command: command.op,
          chatId: message.chat_id,
          error: errorMessage(error),
        })
      }
      return
    }

    if (type === 'im.message.reaction.created_v1') {
      respond({})
      const outcome = await this.onReaction(event).catch((error: unknown) => {
        logger.error('a reaction failed', { error: errorMessage(error) })
        return 'error'
      })
      metrics.events.inc({ type: label, outcome })
      return
    }

    if (type === 'card.action.trigger' || type === 'card.action.trigger_v1') {
      const e = type === 'card.action.trigger' ? (event.event ?? {}) : event
      const value = (e.action?.value ?? {}) as Record<string, unknown> & { k?: unknown }
      const chatId: string | undefined = e.context?.open_chat_id ?? e.open_chat_id
      const openId: string | undefined = e.operator?.open_id ?? e.open_id
      // Only what the table puts on a card is a button; any other value is ignored.
      const clicked = this.commands.clicked(value)
      const toasts = TOASTS[config.warroom.language]
      const op = clicked?.command.name
      if (!clicked) {
        metrics.events.inc({ type: label, outcome: 'ignored' })
        return respond({})
      }
      const ref =
        typeof value.k === 'string' && /^[0-9a-f]{32}$/.test(value.k)
          ? { keyHash: value.k }
          : { chatId: chatId ?? '' }
      // Per episode: after a reopen the same person may click Ack or Resolve again.
      const record = await warroom.find(ref)
      const reopened = record?.events.filter((ev) => ev.type === 'reopened').length ?? 0
      const episode = record ? `${record.openedAt}:${reopened}` : ''
      const clickKey = `c:${e.context?.open_message_id ?? e.open_message_id}:${openId}:${op}:${episode}`
      if (!(await warroom.claimOnce(clickKey)))
        return respond({ toast: { type: 'info', content: toasts.none } })
      const work = this.runCommand(clicked.args, ref, openId ? { openId } : {}, undefined)
      const budget = new Promise<'late'>((r) =>
        setTimeout(() => r('late'), this.options.callbackBudgetMs ?? 2500).unref(),
      )
      try {
        const result = await Promise.race([work, budget])
        if (result === 'late') {
          work.catch((error) => {
            logger.error('card action failed', { op, error: errorMessage(error) })
            return warroom.unclaim(clickKey).catch(() => {})
          })
          metrics.events.inc({ type: label, outcome: 'late' })
          return respond({ toast: { type: 'info', content: toasts.pending } })
        }
        metrics.events.inc({ type: label, outcome: result.action })
        const card = result.action !== 'none' ? await warroom.cardFor(ref) : undefined
        const toast = {
          type: result.action === 'none' ? 'info' : 'success',
          content:
            result.action === 'none'
              ? (result.reason ?? toasts.none)
              : clicked.command.button!.toast[config.warroom.language],
        }
        // The legacy callback takes the new card's fields at the top level.
        if (type === 'card.action.trigger_v1') return respond({ ...card, toast })
        return respond({ toast, ...(card ? { card: { type: 'raw', data: card } } : {}) })
      } catch (error) {
        metrics.events.inc({ type: label, outcome: 'error' })
        logger.error('card action failed', { op, error: errorMessage(error) })
        // Nothing was done: the same click may be tried again (not "nothing to do").
        await warroom.unclaim(clickKey).catch(() => {})
        return respond({ toast: { type: 'error', content: toasts.failed } })
      }
    }
    metrics.events.inc({ type: label, outcome: 'ignored' })
    return respond({})
  }

  /** A 📌 reaction by a person on a war room's message: a key moment for the review. */
  private async onReaction(event: EventJson): Promise<string> {
    const e = event.event ?? {}
    const openId = e.user_id?.open_id
    if (e.operator_type !== 'user' || e.reaction_type?.emoji_type !== PIN_EMOJI || !openId)
      return 'ignored'
    const { warroom } = this.options
    const message = await warroom.messageOf(String(e.message_id))
    if (!message) return 'ignored'
    const result = await warroom.markMoment(
      { chatId: message.chatId },
      { openId },
      {
        text: message.text,
        messageId: String(e.message_id),
        ...(message.author ? { author: message.author } : {}),
      },
    )
    return result.action
  }

  private commandOf(event: EventJson): Parsed | undefined {
    const message = event.event?.message ?? {}
    if (message.chat_type !== 'group' || message.message_type !== 'text') return undefined
    if (event.event?.sender?.sender_type && event.event.sender.sender_type !== 'user')
      return undefined
    let text = ''
    try {
      text = String(JSON.parse(String(message.content ?? '{}')).text ?? '')
    } catch {
      return undefined
    }
    // Without the all-group-messages scope Feishu only delivers messages that @mention the bot,
    // so any mention is taken as addressing it; "@bot ack" then works without the slash.
    const mentions = Array.isArray(message.mentions) ? message.mentions : []
    return this.commands.parse(
      text,
      mentions.length > 0,
      mentions
        .map((m: { key?: unknown; id?: { open_id?: unknown } }) => ({
          key: String(m.key ?? ''),
          openId: String(m.id?.open_id ?? ''),
        }))
        .filter((m: { openId: string }) => /^ou_/.test(m.openId)),
    )
  }

  private async runCommand(
    command: Parsed,
    ref: { chatId: string } | { keyHash: string },
    by: { openId?: string | undefined },
    messageId: string | undefined,
  ): Promise<WarRoomResult> {
    const { warroom, config } = this.options
    const result = await this.commands.run(command, {
      room: warroom,
      ref,
      by: by.openId ? { openId: by.openId } : {},
      ...(messageId ? { messageId } : {}),
      language: config.warroom.language,
    })
    // Typed and refused (not a member, nothing to do): the reason goes under the message.
    if (result.action === 'none' && result.reason && messageId)
      await warroom.reply(messageId, result.reason, 'chatId' in ref ? ref.chatId : undefined)
    // A person's resolution gets the timeline and the review summary too.
    this.options.timelines.afterResolution(result)
    return result
  }
}
