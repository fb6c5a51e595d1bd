/** What the adapters write: titles, field and link names, per source, in both languages. */

export const ALERTMANAGER_TEXTS = {
  zh: {
    alerts: '条告警',
    silence: '静默',
    alertmanager: 'Alertmanager',
    runbook: '处置手册',
    dashboard: '看板',
    truncated: (n: number) => `另有 ${n} 条告警被 max_alerts 截断`,
  },
  en: {
    alerts: 'alerts',
    silence: 'Silence',
    alertmanager: 'Alertmanager',
    runbook: 'Runbook',
    dashboard: 'Dashboard',
    truncated: (n: number) => `${n} more alerts were cut by max_alerts`,
  },
}

export const GRAFANA_TEXTS = {
  zh: { dashboard: '看板', panel: '面板', silence: '静默', grafana: 'Grafana', value: '当前值' },
  en: {
    dashboard: 'Dashboard',
    panel: 'Panel',
    silence: 'Silence',
    grafana: 'Grafana',
    value: 'Value',
  },
}

export const GITHUB_TEXTS = {
  zh: {
    failed: (what: string, where: string) => `${what} 在 ${where} 上失败`,
    deployFailed: (env: string) => `部署到 ${env} 失败`,
    repository: '仓库',
    workflow: '工作流',
    branch: '分支',
    commit: '提交',
    author: '作者',
    actor: '触发者',
    run: '运行',
    attempt: (n: number) => `第 ${n} 次尝试`,
    event: '事件',
    environment: '环境',
    jobsMissing: '失败的 Job',
    jobsMissingWhy: (why: string) =>
      `无法读取（${why}）；请给工作流加上 permissions: actions: read`,
    fixedBy: (sha: string, msg: string, who: string) => `由提交 ${sha}「${msg}」(${who}) 修复`,
    deployOk: (env: string, sha: string) => `部署到 ${env} 成功 (${sha})`,
    runLink: '运行日志',
    commitLink: '提交',
    compareLink: '变更对比',
    deployLink: '部署',
  },
  en: {
    failed: (what: string, where: string) => `${what} failed on ${where}`,
    deployFailed: (env: string) => `Deploy to ${env} failed`,
    repository: 'Repository',
    workflow: 'Workflow',
    branch: 'Branch',
    commit: 'Commit',
    author: 'Author',
    actor: 'Triggered by',
    run: 'Run',
    attempt: (n: number) => `attempt ${n}`,
    event: 'Event',
    environment: 'Environment',
    jobsMissing: 'Failed jobs',
    jobsMissingWhy: (why: string) =>
      `unavailable (${why}); grant the workflow permissions: actions: read`,
    fixedBy: (sha: string, msg: string, who: string) => `Fixed by commit ${sha} "${msg}" (${who})`,
    deployOk: (env: string, sha: string) => `Deploy to ${env} succeeded (${sha})`,
    runLink: 'Run logs',
    commitLink: 'Commit',
    compareLink: 'Compare',
    deployLink: 'Deployment',
  },
}

/** Heartbeats: the incident a silent pipeline opens, and its resolution. */
export const HEARTBEAT_TEXTS = {
  zh: {
    title: (name: string) => `没有收到「${name}」的心跳`,
    summary: (since: string, every: string) =>
      `上次心跳：${since}；应每 ${every} 一次。告警链路本身可能已经停止工作。`,
    never: '启动以来从未收到',
    resolution: '心跳恢复',
  },
  en: {
    title: (name: string) => `No heartbeat from ${name}`,
    summary: (since: string, every: string) =>
      `Last heartbeat: ${since}; expected every ${every}. The alerting pipeline itself may have stopped.`,
    never: 'none since start',
    resolution: 'the heartbeat is back',
  },
} as const
