import { formatDuration, formatTime } from '../i18n/index.js'
import type { Person } from '../model/incident.js'
import { createSilence, expireSilence, SilenceError } from '../outbound/alertmanager.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import type { Core } from './model.js'

/**
 * `/silence <duration> [note]` and `/unsilence`: a silence in Alertmanager for
 * the incident's alert group (its group labels, matched exactly), its id, end
 * and link posted in the chat. Answers with the reason when it cannot.
 */
export class Silencing {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
  ) {}

  /** A chat command carries only the open_id; the name needs contact:user.base:readonly. */
  private async nameOf(openId: string | undefined): Promise<string | undefined> {
    if (!openId) return undefined
    return this.core.client.getUserName(openId).catch(() => undefined)
  }

  /** Creates (or replaces) the silence; undefined when done, else why not. */
  async silence(
    record: IncidentRecord,
    by: Person,
    durationMs: number,
    note?: string,
  ): Promise<string | undefined> {
    const t = this.messages.t
    if (!Number.isFinite(durationMs) || durationMs <= 0) return t.silenceUsage
    const max = this.core.config.maxSilenceMs ?? 24 * 3600_000
    if (durationMs > max) return t.silenceTooLong(formatDuration(max, this.core.config.language))
    const matchers = record.incident?.silence
    if (!matchers || !Object.keys(matchers).length) return t.cannotSilence
    const am = this.core.config.alertmanagerFor?.(record.incident?.labels ?? {})
    if (!am) return t.noAlertmanager
    const endsAt = this.core.now() + durationMs
    const name = by.name ?? (await this.nameOf(by.openId))
    try {
      const created = await createSilence(am, {
        matchers,
        endsAt,
        // Alertmanager shows this as the creator: the person, not an id (the id when names cannot be read).
        createdBy: `${name ?? by.openId ?? 'someone'} (via feishu-warroom)`,
        comment: `${note ? `${note} · ` : ''}war room ${record.chatName}`.slice(0, 1000),
      })
      // One silence per incident: a new /silence replaces the one before.
      if (record.silence) await expireSilence(am, record.silence.id).catch(() => {})
      record.silence = { id: created.id, endsAt, url: created.url }
    } catch (error) {
      if (error instanceof SilenceError) return t.silenceFailed(error.message)
      throw error
    }
    record.events.push({
      type: 'updated',
      at: this.core.now(),
      by,
      detail: `silenced until ${new Date(endsAt).toISOString()}`,
    })
    const [before, after] = t.silencedParts
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: before },
          ...this.messages.personNodes(by),
          {
            tag: 'text',
            text: after(
              formatTime(
                endsAt,
                this.core.config.timeZone,
                this.core.config.language,
                this.core.now(),
              ),
              record.silence.id,
            ),
          },
          { tag: 'a', text: t.silenceLink, href: record.silence.url },
        ],
      ],
      `silence:${record.silence.id}`,
    )
    return undefined
  }

  /** Expires the incident's silence now; undefined when done, else why not. */
  async unsilence(record: IncidentRecord, by: Person): Promise<string | undefined> {
    const t = this.messages.t
    const silence = record.silence
    if (!silence) return t.notSilenced
    const am = this.core.config.alertmanagerFor?.(record.incident?.labels ?? {})
    if (!am) return t.noAlertmanager
    try {
      await expireSilence(am, silence.id)
    } catch (error) {
      if (error instanceof SilenceError) return t.silenceFailed(error.message)
      throw error
    }
    delete record.silence
    record.events.push({ type: 'updated', at: this.core.now(), by, detail: 'silence expired' })
    const [before, after] = t.unsilencedParts
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: before },
          ...this.messages.personNodes(by),
          { tag: 'text', text: after },
        ],
      ],
      `unsilence:${silence.id}`,
    )
    return undefined
  }
}
