import type { GrafanaPayload } from '../../adapters/grafana.js'
import type { Config } from '../config/config.js'
import type { WarRoom } from '../core/warroom.js'
import { FeishuError } from '../feishu/errors.js'
import { HttpError } from '../util/http.js'
import type { Logger } from '../util/log.js'

/**
 * Grafana's "Test" button: posted to grafana.test_chat_id when set. Grafana
 * shows the answer in its test dialog, so a failure answers 502 with why.
 */
export async function postGrafanaTest(
  payload: GrafanaPayload,
  options: { config: Config; warroom: WarRoom; logger: Logger },
): Promise<string> {
  const chatId = options.config.grafana.test_chat_id
  if (!chatId)
    return 'Grafana test notification received; set grafana.test_chat_id to see test notifications in a chat'
  try {
    await options.warroom.postTest(
      chatId,
      `Grafana test notification from ${payload.receiver}: ${payload.alerts[0]?.annotations.summary ?? ''}`,
    )
    return `Grafana test notification posted to ${chatId}`
  } catch (error) {
    const message = `could not post the Grafana test notification to grafana.test_chat_id ${chatId}: ${errorText(error)}`
    options.logger.warn(message)
    throw new HttpError(502, message)
  }
}

function errorText(error: unknown): string {
  if (error instanceof FeishuError)
    return `Feishu code ${error.code} ${error.msg}${error.hint ? ` (${error.hint})` : ''}`
  return error instanceof Error ? error.message : String(error)
}
