/** What storm rooms and merged follow-ups say, in both languages; part of TEXTS. */
export const STORM_TEXTS = {
  zh: {
    stormTitle: (route: string) => `告警风暴：${route}`,
    stormSummary: (open: number, all: number) =>
      `${open} 个未恢复 / 共 ${all} 个。新建群的额度已用完，本路由的新事件先汇总在这个风暴群里；每个事件仍单独记录和恢复，点「独立建群」或发 /split <编号> 给它单独的群。`,
    stormMoved: '（已独立建群）',
    stormNotAStorm: '这里不是风暴群',
    stormNoSuch: (n: number) => `风暴群里没有未恢复的 #${n}`,
    stormSplit: (n: number, title: string) => `🔀 #${n} ${title} 已独立建群：`,
    stormOpen: '打开',
    mergedUpdates: (n: number) => `🔄 ${n} 次更新（消息较多，合并发送；卡片始终是最新的）`,
  },
  en: {
    stormTitle: (route: string) => `Alert storm: ${route}`,
    stormSummary: (open: number, all: number) =>
      `${open} open of ${all}. The budget of new war rooms is spent: new incidents of this route gather in this storm room; each is still recorded and resolved on its own, and "Own room" or /split <number> gives one a war room of its own.`,
    stormMoved: ' (moved to its own room)',
    stormNotAStorm: 'This chat is not a storm room',
    stormNoSuch: (n: number) => `No open #${n} in this storm room`,
    stormSplit: (n: number, title: string) => `🔀 #${n} ${title} has its own war room: `,
    stormOpen: 'Open',
    mergedUpdates: (n: number) =>
      `🔄 ${n} updates (merged while messages were backlogged; the card is always current)`,
  },
} as const
