import type { FeishuClient } from '../feishu/client.js'
import { type Figures, type TimelineOutput, writeTimeline } from '../render/timeline.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { errorMessage, type WarRoomConfig } from './model.js'

/**
 * The post-incident review: the chat's whole history merged with the
 * incident's events, written to the outputs, then the key figures posted in
 * the chat. Without the history scope the summary still gives the times, and
 * the failure is returned as a warning.
 */
export async function review(
  client: FeishuClient,
  messages: Messages,
  config: WarRoomConfig,
  record: IncidentRecord,
  outputs: TimelineOutput[],
): Promise<{ figures?: Figures; warning?: string }> {
  let figures: Figures | undefined
  let warning: string | undefined
  try {
    figures = await writeTimeline(client, record, outputs, {
      language: config.language,
      timeZone: config.timeZone,
      resolvedPrefix: config.resolvedPrefix,
    })
  } catch (error) {
    warning = `timeline unavailable: ${errorMessage(error)}`
  }
  // The resolution message carried it already (a storm's backlog): the timeline only.
  const carried =
    record.summaryPostedAt !== undefined && record.summaryPostedAt === record.resolvedAt
  if (!carried) {
    const text = messages.summary(record, figures)
    await messages.post(record, [[{ tag: 'text', text }]], `summary:${record.resolvedAt ?? ''}`)
  }
  return { ...(figures ? { figures } : {}), ...(warning ? { warning } : {}) }
}

/**
 * The summary now, for a resolution message that carries it: in a storm's
 * backlog that message waits for the app's quota anyway, and one message
 * where there would be two is what the quota is short of. The figures come
 * from the history (its own quota); undefined when it cannot be read, and
 * the review posts the summary on its own as usual.
 */
export async function summaryNow(
  client: FeishuClient,
  messages: Messages,
  config: WarRoomConfig,
  record: IncidentRecord,
): Promise<string | undefined> {
  try {
    const figures = await writeTimeline(client, record, [], {
      language: config.language,
      timeZone: config.timeZone,
      resolvedPrefix: config.resolvedPrefix,
    })
    return messages.summary(record, figures)
  } catch {
    return undefined
  }
}
