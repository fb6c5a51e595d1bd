import type { WarRoomResult } from './model.js'

/** A war-room result as JSON, snake_case, the same from the receiver's HTTP answers and the CLI. */
export function resultJson(result: WarRoomResult) {
  return {
    action: result.action,
    key: result.key,
    ...(result.chatId ? { chat_id: result.chatId, chat_url: result.chatUrl } : {}),
    ...(result.cardMessageId ? { message_id: result.cardMessageId } : {}),
    ...(result.reopened ? { reopened: true } : {}),
    ...(result.storm ? { storm: result.storm } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
    ...(result.empty ? { empty: true } : {}),
    ...(result.failedMembers.length ? { failed_members: result.failedMembers } : {}),
    ...(result.warnings.length ? { warnings: result.warnings } : {}),
    feishu_calls: result.feishuCalls,
  }
}
