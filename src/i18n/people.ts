/** What a person sees answered: card-button toasts, the Action's notices. */

export const TOASTS = {
  zh: {
    none: '无需操作',
    failed: '操作失败，请稍后重试',
    pending: '处理中…',
  },
  en: {
    none: 'Nothing to do',
    failed: 'Failed, try again shortly',
    pending: 'Working on it…',
  },
}

export const CANCELLED = {
  zh: (run: string) => `⏹ 运行 ${run} 已取消`,
  en: (run: string) => `⏹ Run ${run} was cancelled`,
}
