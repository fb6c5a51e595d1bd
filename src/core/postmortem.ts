import { FeishuError } from '../feishu/errors.js'
import { momentPeople } from '../render/moments.js'
import { postmortemMarkdown } from '../render/postmortem.js'
import { safePlainText, truncate } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, deriveUuid, type Op, reasonOf } from './model.js'

/**
 * The post-mortem document (`review.document`): one Feishu document per
 * episode, created once (its id is written to the record before anything
 * else can fail, so a retry or another replica fills the same one), filled
 * from the incident's own timeline, key moments and figures, shared with
 * the war room for editing, and linked in the chat and on the card. A
 * refusal (a missing docx or drive scope) is one plain line naming it.
 */
export class Postmortems {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly save: (record: IncidentRecord) => Promise<void>,
  ) {}

  /**
   * review.dissolve_after came: the resolved war room (of this resolution,
   * not reopened since) is dissolved, but only once its timeline is saved
   * (the caller's job follows the review) and, with review.document: auto,
   * its document is complete; never a chat another app or a person owns.
   */
  async archive(record: IncidentRecord, resolvedAt: number, op: Op): Promise<string | undefined> {
    if (record.status !== 'resolved' || record.resolvedAt !== resolvedAt) return 'reopened since'
    if (record.dissolvedAt) return 'already dissolved'
    const auto = this.core.config.review?.document === 'auto'
    const pm = record.postmortem?.openedAt === record.openedAt ? record.postmortem : undefined
    if (auto && !(pm?.filled && pm.shared)) return 'the post-mortem document is not complete'
    try {
      await this.core.client.documents.dissolveChat(record.chatId)
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      op.warnings.push(`the war room was not dissolved: ${reasonOf(error)}`)
      return `not dissolved: ${reasonOf(error)}`
    }
    record.dissolvedAt = this.core.now()
    record.events.push({ type: 'updated', at: record.dissolvedAt, detail: 'dissolved' })
    return undefined
  }

  /** Writes the document if it is not complete; a reason when there is nothing to do. */
  async write(record: IncidentRecord, op: Op): Promise<string | undefined> {
    const t = this.messages.t
    const review = this.core.config.review ?? { document: 'command' }
    if (review.document === 'off') return t.postmortemOff
    const docs = this.core.client.documents
    let pm = record.postmortem?.openedAt === record.openedAt ? record.postmortem : undefined
    if (pm?.filled && pm.shared && pm.tab) return t.postmortemExists
    try {
      if (!pm) {
        const title = this.messages.t.postmortemTitle(record.openTitle ?? record.chatName)
        const id = await docs.create(truncate(safePlainText(title), 800), review.folderToken)
        pm = { documentId: id, url: docs.url(id), openedAt: record.openedAt }
        record.postmortem = pm
        await this.save(record)
      }
      if (!pm.filled) {
        const { language, timeZone } = this.core.config
        const names = await this.names(record)
        const markdown = postmortemMarkdown(record, {
          language,
          timeZone,
          now: this.core.now(),
          names,
        })
        await docs.write(
          pm.documentId,
          markdown,
          deriveUuid('postmortem', record.keyHash, String(pm.openedAt)),
        )
        pm.filled = true
      }
      if (!pm.shared) {
        await docs.shareWithChat(pm.documentId, record.chatId)
        pm.shared = true
      }
      if (!pm.tab) pm.tab = await this.tab(record, pm.url, op)
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      op.warnings.push(`the post-mortem document is not complete: ${reasonOf(error)}`)
      await this.messages.post(
        record,
        [[{ tag: 'text', text: t.postmortemRefused(reasonOf(error)) }]],
        `postmortem-refused:${record.openedAt}`,
      )
      if (!pm) return undefined
    }
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.postmortemLinked },
          { tag: 'a', text: t.postmortemOpen, href: pm.url },
        ],
      ],
      `postmortem:${pm.openedAt}`,
    )
    return undefined
  }

  /** The document as a tab of the chat; a refusal (the tabs scope) is one line, the document stands. */
  private async tab(record: IncidentRecord, url: string, op: Op): Promise<string> {
    try {
      const t = this.messages.t
      return (
        (await this.core.client.documents.addChatTab(record.chatId, t.postmortemTab, url)) ??
        'added'
      )
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      op.warnings.push(`the post-mortem tab was not added: ${reasonOf(error)}`)
      await this.messages.post(
        record,
        [[{ tag: 'text', text: this.messages.t.postmortemTabRefused(reasonOf(error)) }]],
        `postmortem-tab-refused:${record.openedAt}`,
      )
      return 'refused'
    }
  }

  /** The names of the people the document names (a contact scope); ids where they cannot be read. */
  private async names(record: IncidentRecord): Promise<Map<string, string>> {
    const names = new Map<string, string>()
    const people = [
      ...(record.moments ?? []).flatMap(momentPeople),
      ...(record.followUps ?? []).map((f) => f.owner),
      ...record.events.flatMap((e) => (e.by ? [e.by] : [])),
      ...(record.lead ? [record.lead.by] : []),
    ]
    for (const p of people) {
      if (!p.openId || p.name || names.has(p.openId)) continue
      try {
        names.set(p.openId, (await this.core.client.getUserName(p.openId)) ?? p.openId)
      } catch {
        break // no contact scope: ids, as the timeline shows them
      }
    }
    return names
  }
}
