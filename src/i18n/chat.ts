import type { Severity } from '../model/incident.js'
import { STORM_TEXTS } from './storm.js'

export type Language = 'zh' | 'en'

/** Every sentence the product writes into Feishu, in both languages. */
export const TEXTS = {
  zh: {
    ...STORM_TEXTS.zh,
    status: '状态',
    firing: '告警中',
    stillFiring: '来源仍报告告警',
    resolved: '已恢复',
    resolvedByPerson: '已解决',
    acknowledged: '已确认',
    severity: '级别',
    source: '来源',
    started: '开始',
    resolvedAt: '恢复',
    duration: '持续',
    updated: '更新',
    responders: '负责人',
    notInvited: '未能邀请',
    items: '明细',
    more: (n: number) => `…另有 ${n} 项`,
    ackedBy: (who: string, when: string) => `✋ ${who} 已于 ${when} 确认`,
    nextEscalation: (when: string, kind: string) => `⏫ 无人确认时，${when} 升级：${kind}`,
    urgentKinds: { app: '应用内加急', sms: '短信加急', phone: '电话加急' },
    escalated: (step: number, kind: string) => `⏫ 仍无人确认，第 ${step} 级升级（${kind}）：`,
    escalationFailed: (step: number, kind: string, why: string, retryAt?: string) =>
      `⚠️ 第 ${step} 级升级（${kind}）未能发出：${why}${retryAt ? `；${retryAt} 重试` : '；不再重试，请直接联系'}`,
    silencedParts: [
      '🔕 ',
      (until: string, id: string) =>
        ` 在 Alertmanager 中静默了此告警组，至 ${until}。静默 ID: ${id} `,
    ] as const,
    silenceLink: '查看静默',
    unsilencedParts: ['🔔 ', ' 取消了静默，告警恢复通知。'] as const,
    silenceUsage: '用法：/silence <时长> [备注]，例如 /silence 1h 正在回滚（时长如 30m、2h、1d）',
    silenceTooLong: (max: string) => `静默最长 ${max}（silence.max_duration）：请缩短时长`,
    urgentHeld: (why: string) => `⚠️ 加急未发送：已达上限（${why}）`,
    cannotSilence: '这个事件不是来自 Alertmanager，无法在这里静默。',
    noAlertmanager: '未配置 alertmanager.url，无法静默。',
    notSilenced: '此事件没有生效中的静默。',
    silenceFailed: (why: string) => `静默失败：${why}`,
    silencedUntil: (when: string) => `🔕 已在 Alertmanager 静默至 ${when}`,
    reminderParts: [
      '⏰ ',
      (since: string) => ` 已确认 ${since}，事件仍未解决。请更新进展，或 /resolve 标记解决。`,
    ] as const,
    previous: '上一次事件群',
    joinBridge: '📹 加入视频会议',
    recentChanges: '🔀 开始前的变更',
    postmortemTitle: (t: string) => `复盘：${t}`,
    fixPrompt:
      '✍️ 是什么解决了问题？写 /fixed <说明>（修复），会记入复盘，并在下次同一事件时显示在卡片上',
    fixNoted: '📝 解决说明已记录：',
    followUpParts: ['☑️ 待办：'] as const,
    followUpDue: (when: string) => `，截止 ${when} `,
    followUpOpen: ' 打开任务',
    followUpUsage: '用法：/followup <待办内容> [@负责人] [期限，如 3d 或 2026-12-05]',
    followUpRefused: (why: string) => `⚠️ 未能创建飞书任务：${why}`,
    summaryFollowUps: (n: number) => `待办 ${n} 项：`,
    postmortemLinked: '📄 复盘文档已生成（群成员可编辑）：',
    postmortemOpen: '打开复盘文档',
    postmortemButton: '📄 复盘文档',
    postmortemOff: '复盘文档已关闭（review.document: off）',
    postmortemExists: '复盘文档已经生成，见卡片上的「📄 复盘文档」',
    postmortemRefused: (why: string) => `⚠️ 复盘文档未能完整生成：${why}`,
    postmortemTab: '复盘文档',
    postmortemTabRefused: (why: string) => `⚠️ 复盘文档未能加为群标签页：${why}`,
    lastTime: (when: string, took: string) => `🕘 **上次发生**：${when}，用时 ${took} 解决`,
    lastTimeFix: '解决说明：',
    lastSimilar: (title: string, when: string, took: string) =>
      `🕘 **上次同类告警**（${title}）：${when}，用时 ${took} 解决`,
    lastTimeDocument: '上次的复盘文档',
    bridgeOnCard: (no: string) => `📹 视频会议已就绪${no ? `（会议号 ${no}）` : ''}`,
    sourceNames: {
      github: 'GitHub',
      alertmanager: 'Alertmanager',
      grafana: 'Grafana',
      pagerduty: 'PagerDuty Events',
      generic: 'Webhook',
    },
    severityNames: { critical: '严重', error: '错误', warning: '警告', info: '提示' } as Record<
      Severity,
      string
    >,
    openedMsg: '事件群已创建，请相关同学跟进。',
    newFiring: (n: number) => `新增 ${n} 项告警`,
    newResolved: (n: number) => `${n} 项已恢复`,
    severityRaised: (from: string, to: string) => `级别从「${from}」升至「${to}」`,
    newEvent: '有新的失败',
    reopened: '⚠️ 问题再次出现，事件重新打开。',
    resolvedMsg: '✅ 事件已解决',
    resolvedBy: (who: string) => `由 ${who} 标记解决`,
    resolvedBySource: (src: string) => `${src} 报告已恢复`,
    lasted: (d: string) => `持续 ${d}`,
    note: '备注',
    /** Around a mention: "✋ @Alice 已确认，正在处理。" */
    ackParts: ['✋ ', ' 已确认，正在处理。'] as const,
    leadParts: ['🎖 ', ' 担任事件指挥'] as const,
    leadAfter: '（接替 ',
    leadAfterEnd: '）',
    leadBy: (who: string, when: string) => `🎖 指挥：${who}（${when} 起）`,
    managerScope: (why: string) => `（未能设为群管理员：${why}）`,
    alreadyLead: '你已经是事件指挥',
    /** Incident roles besides the lead (warroom.roles); a name not listed here is shown as written. */
    roleNames: {
      comms: '对外沟通',
      scribe: '记录员',
      ops: '操作执行',
      deputy: '副指挥',
      support: '客户支持',
    } as Record<string, string>,
    roleParts: (role: string) => ['👤 ', ` 担任${role}`] as const,
    roleBy: (role: string, who: string, when: string) => `👤 ${role}：${who}（${when} 起）`,
    alreadyRole: (role: string) => `已经由这位同学担任${role}`,
    unknownRole: (role: string, roles: string) =>
      roles
        ? `没有「${role}」这个角色。可用的角色：${roles}（用法：/role <角色> [@某人]）`
        : '还没有配置角色：在配置的 warroom.roles 中列出，例如 [comms, scribe]',
    noLead: (since: string) =>
      `⏰ 事件已开启 ${since}，还没有人担任指挥：用 /lead 或卡片上的「我来指挥」认领指挥`,
    severityParts: ['🏷 ', ' 将级别改为 '] as const,
    titleParts: ['✏️ ', ' 将标题改为：'] as const,
    sameSeverity: '级别没有变化',
    updateTitle: '📝 进展更新 · ',
    feedOpened: '事件已开启，作战室：',
    feedJoin: '进入作战室',
    feedSeverity: (priority: string) => `级别改为 ${priority}`,
    feedUpdate: (text: string) => `📝 进展：${text}`,
    feedResolved: (lasted: string) => `✅ 已解决 · 持续 ${lasted}`,
    leadLabel: '指挥',
    nextUpdate: (when: string) => `下次更新：${when}`,
    updateDue: (since: string) => ` 该更新进展了：上次更新已是 ${since} 前。用 /update <进展> 更新`,
    latestUpdate: (when: string, text: string) => `📝 最新进展（${when}）：${text}`,
    invitedParts: ['➕ ', ' 邀请了 '] as const,
    pagedParts: ['📣 ', ' 呼叫了 '] as const,
    nobodyBrought: (who: string) => `没有找到可以邀请的人：${who}`,
    sameTitle: '标题没有变化',
    resolvedByParts: ['由 ', ' 标记解决'] as const,
    urgent: '加急',
    summaryMsg: (tta: string, ttr: string, people: string, messages: string) =>
      `📋 复盘摘要：确认用时 ${tta} · 解决用时 ${ttr} · 参与 ${people} 人 · 人工消息 ${messages} 条`,
    summaryUpdates: (n: number) => `进展更新 ${n} 次：`,
    summaryMoments: (n: number) => `关键时刻 ${n} 个：`,
    managersRefused: (why: string) => `⚠️ 无法查到负责人的上级（升级步骤中的 manager）：${why}`,
    ackExpiredParts: [
      '⏰ ',
      (since: string) => ` 的确认已失效：${since}没有进展更新。重新呼叫，并重新开始升级策略`,
    ] as const,
    windowWait: (step: number, when: string) =>
      `⏳ 第 ${step} 步升级不在它的时段内，将于 ${when} 发出`,
    summaryBridge: (meeting: string, notes?: string) =>
      `📹 视频会议 ${meeting}${notes ? `，会议纪要文档 ${notes}` : '（飞书未返回会议纪要）'}`,
    timeSensitiveRefused: (why: string) =>
      `⚠️ 未能将本群设为即时提醒（置顶在被呼叫者的消息列表）：${why}`,
    bridgeOpened: '📹 视频会议已就绪：',
    bridgeJoin: '加入会议',
    bridgeNo: (no: string) => `（会议号 ${no}）`,
    bridgeRefused: (why: string) => `⚠️ 未能预约视频会议：${why}`,
    bridgeOff: '本事件未开启视频会议（warroom.bridge: off）',
    bridgeExists: (no: string) =>
      `视频会议已就绪${no ? `（会议号 ${no}）` : ''}：点卡片上的「📹 加入视频会议」`,
    bridgeNoOwner: '群里还没有成员，无法预约视频会议（会议需要一位归属人）',
    bridgeLine: (no: string) => `📹 视频会议${no ? `：会议号 ${no}` : ''}`,
    imageFailed: '图片无法加载',
    notAWarRoom: '这个群不是事件群。',
    notAMember: '只有事件群的成员可以操作',
    unknownUser: '有人',
    d: (days: number, h: number, m: number, s: number) =>
      days
        ? `${days}天${h}小时`
        : h
          ? `${h}小时${m}分`
          : m
            ? `${m}分${s ? `${s}秒` : ''}`
            : `${s}秒`,
  },
  en: {
    ...STORM_TEXTS.en,
    status: 'Status',
    firing: 'Firing',
    stillFiring: 'still firing at the source',
    resolved: 'Recovered',
    resolvedByPerson: 'Resolved',
    acknowledged: 'Acknowledged',
    severity: 'Severity',
    source: 'Source',
    started: 'Started',
    resolvedAt: 'Resolved',
    duration: 'Duration',
    updated: 'Updated',
    responders: 'Responders',
    notInvited: 'Could not invite',
    items: 'Details',
    more: (n: number) => `…and ${n} more`,
    ackedBy: (who: string, when: string) => `✋ Acknowledged by ${who} at ${when}`,
    nextEscalation: (when: string, kind: string) =>
      `⏫ Unless acknowledged, escalates at ${when}: ${kind}`,
    urgentKinds: { app: 'in-app urgent', sms: 'urgent SMS', phone: 'urgent phone call' },
    silencedParts: [
      '🔕 ',
      (until: string, id: string) =>
        ` silenced this alert group in Alertmanager until ${until}. Silence ID: ${id} `,
    ] as const,
    silenceLink: 'view silence',
    unsilencedParts: ['🔔 ', ' expired the silence: notifications resume.'] as const,
    silenceUsage: 'Usage: /silence <duration> [note], e.g. /silence 1h rolling back (30m, 2h, 1d)',
    silenceTooLong: (max: string) =>
      `A silence may last at most ${max} (silence.max_duration): use a shorter one`,
    urgentHeld: (why: string) => `⚠️ Urgent notice not sent: the cap is reached (${why})`,
    cannotSilence: 'This incident does not come from Alertmanager: it cannot be silenced here.',
    noAlertmanager: 'alertmanager.url is not configured: cannot silence.',
    notSilenced: 'This incident has no active silence.',
    silenceFailed: (why: string) => `Could not silence: ${why}`,
    silencedUntil: (when: string) => `🔕 Silenced in Alertmanager until ${when}`,
    escalated: (step: number, kind: string) =>
      `⏫ Still not acknowledged: escalation step ${step} (${kind}) to `,
    escalationFailed: (step: number, kind: string, why: string, retryAt?: string) =>
      `⚠️ Escalation step ${step} (${kind}) could not be sent: ${why}${retryAt ? `; retrying at ${retryAt}` : '; not retried: reach them directly'}`,
    reminderParts: [
      '⏰ ',
      (since: string) =>
        ` acknowledged this ${since} ago and it is still open. Post an update, or /resolve it.`,
    ] as const,
    previous: 'Previous incident chat',
    joinBridge: '📹 Join the call',
    recentChanges: '🔀 Changes before it started',
    postmortemTitle: (t: string) => `Post-mortem: ${t}`,
    fixPrompt:
      '✍️ What fixed it? Write /fixed <what> for the review; the card shows it the next time this fires',
    fixNoted: '📝 What fixed it, noted: ',
    followUpParts: ['☑️ Follow-up: '] as const,
    followUpDue: (when: string) => `, due ${when} `,
    followUpOpen: ' open the task',
    followUpUsage: 'Usage: /followup <what> [@owner] [due, e.g. 3d or 2026-12-05]',
    followUpRefused: (why: string) => `⚠️ No Feishu task could be created: ${why}`,
    summaryFollowUps: (n: number) => `${n} ${n === 1 ? 'follow-up' : 'follow-ups'}:`,
    postmortemLinked: '📄 The post-mortem document is ready (members may edit it): ',
    postmortemOpen: 'Open the post-mortem',
    postmortemButton: '📄 Post-mortem',
    postmortemOff: 'Post-mortem documents are off (review.document: off)',
    postmortemExists: 'The post-mortem document exists: "📄 Post-mortem" on the card',
    postmortemRefused: (why: string) => `⚠️ The post-mortem document is not complete: ${why}`,
    postmortemTab: 'Post-mortem',
    postmortemTabRefused: (why: string) => `⚠️ The post-mortem was not added as a chat tab: ${why}`,
    lastTime: (when: string, took: string) => `🕘 **Last time**: ${when}, resolved in ${took}`,
    lastTimeFix: 'What fixed it: ',
    lastSimilar: (title: string, when: string, took: string) =>
      `🕘 **Last time alike** (${title}): ${when}, resolved in ${took}`,
    lastTimeDocument: 'Last post-mortem',
    bridgeOnCard: (no: string) => `📹 Video bridge open${no ? ` (meeting ${no})` : ''}`,
    sourceNames: {
      github: 'GitHub',
      alertmanager: 'Alertmanager',
      grafana: 'Grafana',
      pagerduty: 'PagerDuty Events',
      generic: 'Webhook',
    },
    severityNames: {
      critical: 'Critical',
      error: 'Error',
      warning: 'Warning',
      info: 'Info',
    } as Record<Severity, string>,
    openedMsg: 'Incident chat opened; responders, please follow up here.',
    newFiring: (n: number) => `${n} new alert${n === 1 ? '' : 's'} firing`,
    newResolved: (n: number) => `${n} resolved`,
    severityRaised: (from: string, to: string) => `severity raised from ${from} to ${to}`,
    newEvent: 'another failure',
    reopened: '⚠️ The problem is back; the incident is open again.',
    resolvedMsg: '✅ Incident resolved',
    resolvedBy: (who: string) => `resolved by ${who}`,
    resolvedBySource: (src: string) => `${src} reports it recovered`,
    lasted: (d: string) => `lasted ${d}`,
    note: 'Note',
    ackParts: ['✋ ', ' acknowledged and is on it.'] as const,
    leadParts: ['🎖 ', ' now leads the response'] as const,
    leadAfter: ' (taking over from ',
    leadAfterEnd: ')',
    leadBy: (who: string, when: string) => `🎖 Lead: ${who} (since ${when})`,
    managerScope: (why: string) => ` (not made a chat manager: ${why})`,
    alreadyLead: 'You already lead this incident',
    roleNames: {
      comms: 'Communications',
      scribe: 'Scribe',
      ops: 'Operations',
      deputy: 'Deputy lead',
      support: 'Customer support',
    } as Record<string, string>,
    roleParts: (role: string) => ['👤 ', ` is now ${role}`] as const,
    roleBy: (role: string, who: string, when: string) => `👤 ${role}: ${who} (since ${when})`,
    alreadyRole: (role: string) => `They already are ${role}`,
    unknownRole: (role: string, roles: string) =>
      roles
        ? `There is no role "${role}". Roles: ${roles} (usage: /role <role> [@someone])`
        : 'No roles are configured: list them in warroom.roles, e.g. [comms, scribe]',
    noLead: (since: string) =>
      `⏰ Open for ${since} and nobody leads it: take command with /lead or the card's Take command`,
    severityParts: ['🏷 ', ' set the severity to '] as const,
    titleParts: ['✏️ ', ' renamed the incident: '] as const,
    sameSeverity: 'The severity is already that',
    updateTitle: '📝 Status update · ',
    feedOpened: 'Incident opened. War room: ',
    feedJoin: 'open the war room',
    feedSeverity: (priority: string) => `Severity set to ${priority}`,
    feedUpdate: (text: string) => `📝 Update: ${text}`,
    feedResolved: (lasted: string) => `✅ Resolved · lasted ${lasted}`,
    leadLabel: 'Lead',
    nextUpdate: (when: string) => `Next update: ${when}`,
    updateDue: (since: string) =>
      ` a status update is due: the last was ${since} ago. Post one with /update <text>`,
    latestUpdate: (when: string, text: string) => `📝 Latest update (${when}): ${text}`,
    invitedParts: ['➕ ', ' invited '] as const,
    pagedParts: ['📣 ', ' paged '] as const,
    nobodyBrought: (who: string) => `Nobody to invite: ${who}`,
    sameTitle: 'The title is unchanged',
    resolvedByParts: ['resolved by ', ''] as const,
    urgent: 'Urgent',
    summaryMsg: (tta: string, ttr: string, people: string, messages: string) =>
      `📋 Review summary: time to acknowledge ${tta} · time to resolve ${ttr} · ${people} ${people === '1' ? 'responder' : 'responders'} · ${messages} ${messages === '1' ? 'message' : 'messages'} from people`,
    summaryUpdates: (n: number) => `${n} status ${n === 1 ? 'update' : 'updates'}:`,
    summaryMoments: (n: number) => `${n} key ${n === 1 ? 'moment' : 'moments'}:`,
    managersRefused: (why: string) =>
      `⚠️ The responders' managers (manager in an escalation step) could not be found: ${why}`,
    ackExpiredParts: [
      '⏰ The acknowledgement by ',
      (since: string) =>
        ` expired: no status update for ${since}. Paging again and starting the policy over`,
    ] as const,
    windowWait: (step: number, when: string) =>
      `⏳ Escalation step ${step} is outside its hours; it goes out at ${when}`,
    summaryBridge: (meeting: string, notes?: string) =>
      `📹 Video meeting ${meeting}${notes ? `, meeting notes document ${notes}` : ' (Feishu answered no meeting notes)'}`,
    timeSensitiveRefused: (why: string) =>
      `⚠️ This chat could not be made time-sensitive (kept at the top of paged people's chat list): ${why}`,
    bridgeOpened: '📹 Video bridge ready: ',
    bridgeJoin: 'Join the call',
    bridgeNo: (no: string) => ` (meeting ${no})`,
    bridgeRefused: (why: string) => `⚠️ No video bridge could be reserved: ${why}`,
    bridgeOff: 'Video bridges are off for this incident (warroom.bridge: off)',
    bridgeExists: (no: string) =>
      `The video bridge is open${no ? ` (meeting ${no})` : ''}: use "📹 Join the call" on the card`,
    bridgeNoOwner: 'Nobody is in the chat yet to own a video meeting',
    bridgeLine: (no: string) => `📹 Video bridge${no ? `: meeting ${no}` : ''}`,
    imageFailed: 'image unavailable',
    notAWarRoom: 'This chat is not an incident war room.',
    notAMember: 'Only members of the war room can do this',
    unknownUser: 'Someone',
    d: (days: number, h: number, m: number, s: number) =>
      days ? `${days}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m${s ? ` ${s}s` : ''}` : `${s}s`,
  },
} as const

export type Texts = (typeof TEXTS)[Language]

/** The default prefix of a resolved chat's name (zh, the default language). */
export const RESOLVED_PREFIX = '[已解决] '

/** The resolved prefix of a language, unless one is configured. */
export function resolvedPrefixFor(language: Language): string {
  return language === 'en' ? '[Resolved] ' : RESOLVED_PREFIX
}
