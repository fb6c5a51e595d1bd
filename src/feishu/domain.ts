export type Domain = 'feishu' | 'lark' | (string & {})

export const DOMAINS = {
  feishu: { api: 'https://open.feishu.cn', applink: 'https://applink.feishu.cn' },
  lark: { api: 'https://open.larksuite.com', applink: 'https://applink.larksuite.com' },
} as const

/** `feishu`, `lark`, or a base URL (private deployment, the sandbox). */
export function resolveBaseUrl(domain: Domain): string {
  if (domain === 'feishu') return DOMAINS.feishu.api
  if (domain === 'lark') return DOMAINS.lark.api
  let url: URL
  try {
    url = new URL(domain)
  } catch {
    throw new Error(
      `Invalid Feishu domain "${domain}": use feishu, lark, or a base URL such as https://open.feishu.cn`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`Invalid Feishu domain "${domain}": the base URL must be http or https`)
  return url.origin + url.pathname.replace(/\/+$/, '')
}
