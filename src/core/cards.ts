import { TEXTS } from '../i18n/index.js'
import type { Incident } from '../model/incident.js'
import type { ImageFetcher } from '../outbound/images.js'
import { type CardView, renderCard } from '../render/card.js'
import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import { BACKLOG } from './messages.js'
import { type Core, deriveUuid, errorMessage, type Op, sha } from './model.js'

/** The job that patches a card again after its background patch failed for good. */
export const CARD_SYNC = 'card-sync'

/**
 * The war room's alert card: rendered from the record, sent once and pinned,
 * patched only when what it shows changed (compared by hash), found again
 * among the pins, and its images uploaded.
 */
export class Cards {
  /** Cards patched in the background (a storm's backlog): the latest record to render, its generation. */
  private readonly behind = new Map<
    string,
    { record: IncidentRecord; gen: number; done: Promise<void> }
  >()

  constructor(
    private readonly core: Core,
    private readonly fetchImage: ImageFetcher | undefined,
    private readonly save: (record: IncidentRecord) => Promise<void>,
    /** One process owns its records: a card may be patched after the answer (not with replicas). */
    private readonly mayDefer = false,
    /** Where a card whose background patch failed is patched again from (CARD_SYNC). */
    private readonly jobs?: JobQueue,
  ) {}

  /** Patches that failed for good in a row, per incident, until one lands (CARD_SYNC gives up after five). */
  private readonly failed = new Map<string, number>()

  private view(record: IncidentRecord): CardView {
    // The card's title is the chat's: both keep the title the incident opened with.
    const incident = record.incident && {
      ...record.incident,
      title: record.openTitle ?? record.incident.title,
    }
    return {
      incident: incident ?? {
        key: record.key || record.keyHash,
        title: record.chatName,
        status: record.status === 'open' ? 'firing' : 'resolved',
        severity: 'error',
        source: 'generic',
        fields: [],
        items: [],
        links: [],
        members: [],
        images: [],
        labels: {},
      },
      keyHash: record.keyHash,
      state: record.status === 'open' ? 'firing' : 'resolved',
      openedAt: record.openedAt,
      updatedAt: this.core.now(),
      members: record.members,
      failedMembers: record.failedMembers,
      imageKeys: record.imageKeys,
      ...(record.resolvedAt !== undefined ? { resolvedAt: record.resolvedAt } : {}),
      ...(record.ack ? { ack: record.ack } : {}),
      ...(record.lead ? { lead: record.lead } : {}),
      ...(record.roles && Object.keys(record.roles).length
        ? {
            roles: Object.entries(record.roles).map(([role, held]) => ({
              label: TEXTS[this.core.config.language].roleNames[role] ?? role,
              ...held,
            })),
          }
        : {}),
      ...(record.updates?.length ? { latestUpdate: record.updates.at(-1)! } : {}),
      ...nextEscalation(record),
      ...(record.silence && record.silence.endsAt > this.core.now()
        ? { silencedUntil: record.silence.endsAt }
        : {}),
      ...(record.incident?.silence && this.core.config.alertmanagerFor?.(record.incident.labels)
        ? { canSilence: true }
        : {}),
      ...(record.resolvedBy ? { resolvedBy: record.resolvedBy } : {}),
      ...(record.changes?.length ? { changes: record.changes } : {}),
      ...(record.lastTime ? { lastTime: record.lastTime } : {}),
      ...(record.postmortem?.openedAt === record.openedAt
        ? { postmortemUrl: record.postmortem.url }
        : {}),
      ...(record.bridge && !record.bridge.released
        ? {
            bridge: {
              url: record.bridge.url,
              ...(record.bridge.meetingNo ? { meetingNo: record.bridge.meetingNo } : {}),
            },
          }
        : {}),
      ...(record.previousChatId || record.lastTime
        ? {
            previousChatUrl: this.core.client.chatLink(
              record.previousChatId ?? record.lastTime!.chatId,
            ),
          }
        : {}),
    }
  }

  render(record: IncidentRecord, updatedAt = this.core.now()): Record<string, unknown> {
    const view = this.view(record)
    const buttons = this.core.commands.buttons(
      {
        resolved: view.state === 'resolved',
        acknowledged: !!view.ack,
        led: !!view.lead,
        canSilence: !!view.canSilence,
        canBridge:
          !view.bridge &&
          (this.core.config.bridgeFor?.(record.incident?.labels ?? {}) ?? 'button') !== 'off',
        silenced: view.silencedUntil !== undefined,
        ...(record.storm ? { storm: stormButtons(record) } : {}),
      },
      this.core.config.language,
      record.keyHash,
    )
    return renderCard(
      { ...view, buttons, updatedAt },
      {
        language: this.core.config.language,
        timeZone: this.core.config.timeZone,
        // A storm room lists every incident in it (the card shrinks its lines when too big).
        maxItems: record.storm ? 200 : this.core.config.maxItems,
      },
    )
  }

  /** What the card shows, without its "updated" time: equal hashes mean nothing to patch. */
  private hashOf(record: IncidentRecord): string {
    return sha(JSON.stringify(this.render(record, 0)))
  }

  async send(record: IncidentRecord, op: Op): Promise<void> {
    const card = this.render(record)
    const hash = this.hashOf(record)
    const messageId = await this.core.client
      .sendMessage({
        receiveIdType: 'chat_id',
        receiveId: record.chatId,
        msgType: 'interactive',
        content: card,
        uuid: deriveUuid('card', record.chatId),
      })
      .then((m) => m.message_id)
      .catch(async (error: unknown) => {
        // A send whose answer was lost, retried and refused: the card may be there all the same.
        const found = await this.firstCard(record.chatId).catch(() => undefined)
        if (!found) throw error
        this.core.logger.warn('sending the card failed, but it is in the chat: using it', {
          chatId: record.chatId,
          error: errorMessage(error),
        })
        await this.core.client.patchCard(found, card)
        return found
      })
    record.cardMessageId = messageId
    record.cardHash = hash
    // Saved before the header: a process killed now leaves the mark, and the next change puts it up.
    record.headerPending = true
    await this.save(record)
    await this.header(record, messageId, op)
  }

  /**
   * The header everyone sees: the chat's top notice shows the card (status, severity, lead,
   * the latest update and when the next is due), kept current by the card's own patches; and
   * the card pinned. Tried once: a refusal (a missing scope) is a warning, not tried again.
   */
  private async header(record: IncidentRecord, messageId: string, op: Op): Promise<void> {
    try {
      await this.core.client.putTopNotice(record.chatId, messageId)
    } catch (error) {
      op.warnings.push(`could not put the card at the top of the chat: ${errorMessage(error)}`)
    }
    try {
      await this.core.client.pinMessage(messageId)
    } catch (error) {
      op.warnings.push(`could not pin the card: ${errorMessage(error)}`)
    }
    delete record.headerPending
  }

  /** Patches the card when what it shows changed; returns whether it did. */
  async refresh(record: IncidentRecord, op: Op): Promise<boolean> {
    if (!record.cardMessageId) {
      const found = await this.find(record.chatId)
      if (found) record.cardMessageId = found
    }
    if (!record.cardMessageId) {
      await this.send(record, op)
      return true
    }
    if (record.headerPending) await this.header(record, record.cardMessageId, op)
    // Rendered for real only when it changed: a repeat costs one render and no call.
    const hash = this.hashOf(record)
    if (hash === record.cardHash) return false
    const behind = this.behind.has(record.keyHash)
    if (behind || (this.mayDefer && record.status === 'open' && this.backlogged(record))) {
      record.cardHash = hash
      this.later(record)
      // A resolution is answered once its card shows it.
      if (record.status !== 'open') await this.behind.get(record.keyHash)?.done
      return true
    }
    await this.core.client.patchCard(record.cardMessageId, this.render(record))
    record.cardHash = hash
    this.failed.delete(record.keyHash) // a patch landed: the count of failures in a row starts over
    return true
  }

  /** Patches wait app-wide (a storm) or this card's would: the patch may carry later changes too. */
  private backlogged(record: IncidentRecord): boolean {
    const transport = this.core.client.transport
    return (
      transport.backlog('api:patchMessage') >= BACKLOG ||
      transport.backlog(`patch:${record.cardMessageId}`) > 0
    )
  }

  /**
   * The card is patched in the background with the record as it is when the
   * patch leaves the pacer; changes meanwhile join it, or a next patch when
   * they came after it left. Only one patch per card is under way.
   */
  private later(record: IncidentRecord): void {
    const keyHash = record.keyHash
    const snapshot = structuredClone(record)
    const behind = this.behind.get(keyHash)
    if (behind) {
      behind.record = snapshot
      behind.gen++
      return
    }
    const entry = { record: snapshot, gen: 0, done: Promise.resolve() }
    this.behind.set(keyHash, entry)
    entry.done = (async () => {
      try {
        for (;;) {
          let sent = -1
          await this.core.client.patchCard(record.cardMessageId!, () => {
            sent = entry.gen
            return this.render(entry.record)
          })
          if (sent === entry.gen) break
        }
        this.failed.delete(keyHash)
      } catch (error) {
        // The record says the card is current, so a repeat would not patch it: a job will.
        const again = await this.patchAgainLater(record)
        this.core.logger.warn(`a card patch after a backlog failed; ${again}`, {
          chatId: record.chatId,
          error: errorMessage(error),
        })
      } finally {
        this.behind.delete(keyHash)
      }
    })()
  }

  /** Schedules CARD_SYNC in 30 s (five times in a row at most); says what happens next. */
  private async patchAgainLater(record: IncidentRecord): Promise<string> {
    const failures = (this.failed.get(record.keyHash) ?? 0) + 1
    this.failed.set(record.keyHash, failures)
    if (!this.jobs || failures > 5) return 'the next change patches it'
    const dueAt = this.core.now() + 30_000
    try {
      await this.jobs.schedule({
        id: `${CARD_SYNC}:${record.keyHash}:${dueAt}`,
        kind: CARD_SYNC,
        keyHash: record.keyHash,
        dueAt,
        data: {},
      })
      return 'patched again in 30 s'
    } catch {
      return 'the next change patches it'
    }
  }

  /** The CARD_SYNC job: the card patched with the record as it is, whatever the last patch was. */
  async resync(record: IncidentRecord, op: Op): Promise<boolean> {
    delete record.cardHash
    return this.refresh(record, op)
  }

  /** The app's earliest card in the chat's history (one whose send's answer was lost is not pinned). */
  private async firstCard(chatId: string): Promise<string | undefined> {
    for await (const m of this.core.client.listMessages(chatId)) {
      if (m.msg_type === 'interactive' && m.sender?.id === this.core.client.appId)
        return m.message_id
    }
    return undefined
  }

  /**
   * The card is the earliest message this app pinned in the chat, else its
   * earliest card in the history (a second card an hour later, when the
   * uuid has expired, would split the war room's truth in two).
   */
  private async find(chatId: string): Promise<string | undefined> {
    let found: string | undefined
    try {
      for await (const pin of this.core.client.listPins(chatId)) {
        if (pin.operator_id_type === 'app_id' && pin.operator_id === this.core.client.appId)
          found = pin.message_id
      }
    } catch (error) {
      this.core.logger.warn('could not list pins to find the card', {
        chatId,
        error: errorMessage(error),
      })
    }
    if (found) return found
    try {
      return await this.firstCard(chatId)
    } catch (error) {
      this.core.logger.warn('could not read the history to find the card', {
        chatId,
        error: errorMessage(error),
      })
      return undefined
    }
  }

  /** The card keeps its old pictures until new ones are uploaded. */
  async uploadImages(record: IncidentRecord, incident: Incident, op: Op): Promise<void> {
    if (!this.fetchImage) {
      record.imageKeys = []
      record.imageUrls = [...incident.images]
      return
    }
    const keys: string[] = []
    for (const url of incident.images) {
      try {
        const image = await this.fetchImage(url)
        keys.push(
          await this.core.client.uploadImage(image.bytes, { contentType: image.contentType }),
        )
      } catch (error) {
        // The answer says only that it failed: its reason (refused, 404, timeout) would make
        // the receiver a scanner of the network it runs in. The log has it.
        op.warnings.push(`image ${url} not shown`)
        this.core.logger.warn('image not shown', { url, error: errorMessage(error) })
      }
    }
    // Nothing new uploaded: keep the old pictures, and try again on the next update.
    if (keys.length === 0 && record.imageKeys.length && incident.images.length) return
    record.imageKeys = keys
    record.imageUrls = [...incident.images]
  }
}

/** The next step that has not fired, for the card (nothing once someone acknowledged). */
function nextEscalation(record: IncidentRecord) {
  const esc = record.escalation
  if (!esc || record.ack || record.status !== 'open') return {}
  const next = esc.steps.findIndex((_, i) => !esc.fired.includes(i))
  const step = esc.steps[next]
  return step ? { nextEscalation: { at: esc.startedAt + step.after, urgent: step.urgent } } : {}
}

/** Open incidents of a storm room that get a button of their own on its card. */
const SPLIT_BUTTONS = 5

/** A storm room's open incidents that get a split button on its card, newest first. */
export function stormButtons(record: IncidentRecord): Array<{ n: number; title: string }> {
  if (!record.storm || record.status !== 'open') return []
  return record.storm.entries
    .filter((e) => e.status === 'firing' && !e.chatId)
    .slice(-SPLIT_BUTTONS)
    .reverse()
    .map((e) => ({ n: e.n, title: e.title }))
}
