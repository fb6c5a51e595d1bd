import { type Config, parseConfig } from '../config/config.js'
import { route } from '../config/routing.js'
import type { WarRoomConfig } from './model.js'

/** The one mapping from the config to the core's settings: the product and its tests use it. */
export function warRoomConfig(config: Config): WarRoomConfig {
  return {
    language: config.warroom.language,
    timeZone: config.warroom.time_zone,
    resolvedPrefix: config.warroom.resolved_prefix,
    chatNameTemplate: config.warroom.chat_name_template,
    reopenWindowMs: config.warroom.reopen_window,
    maxItems: config.warroom.max_items,
    urgentOnCritical: config.warroom.urgent_on_critical,
    escalationFor: (labels) => route(labels, config.routes).escalation,
    remindEveryMs: config.warroom.remind_every,
    updateEveryMs: config.warroom.update_every,
    leadReminderMs: config.warroom.lead_reminder,
    roles: config.warroom.roles,
    ackExpiresMs: config.warroom.ack_expires,
    lastTimeWithinMs: config.warroom.last_time_within,
    stormRooms: config.intake.storm_rooms,
    review: {
      document: config.review.document,
      ...(config.review.folder_token ? { folderToken: config.review.folder_token } : {}),
      dissolveAfterMs: config.review.dissolve_after,
    },
    changesWindowMs: config.warroom.changes_window,
    changesMatch: config.warroom.changes_match,
    urgentBudget: {
      perIncident: config.warroom.urgent_budget.per_incident,
      phonePerHour: config.warroom.urgent_budget.phone_per_hour,
      smsPerHour: config.warroom.urgent_budget.sms_per_hour,
    },
    bridgeFor: (labels) => route(labels, config.routes).bridge ?? config.warroom.bridge,
    broadcastFor: (labels) =>
      route(labels, config.routes).broadcastChat ?? config.warroom.broadcast_chat,
    alertmanagerFor: (labels) => route(labels, config.routes).alertmanager ?? config.alertmanager,
    schedules: config.schedules,
    maxSilenceMs: config.silence.max_duration,
    urgentCaps: {
      perIncidentPerHour: config.urgent.per_incident_per_hour,
      paidPerHour: config.urgent.paid_per_hour,
    },
  }
}

/** The core's settings when none are given: the config's own defaults, mapped (not a copy). */
export const DEFAULT_CONFIG: WarRoomConfig = warRoomConfig(parseConfig({}))
