import { Agent, request } from 'undici'
import { safeUrl } from './text.js'

export interface FetchedImage {
  bytes: Uint8Array
  contentType: string
}

export type ImageFetcher = (url: string) => Promise<FetchedImage>

/**
 * Downloads an image with a size cap and a time limit. Used for Grafana panel
 * renders and other incident images; a failure is reported, never fatal.
 */
export function httpImageFetcher(
  options: { maxBytes?: number; timeoutMs?: number } = {},
): ImageFetcher {
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024
  const timeoutMs = options.timeoutMs ?? 5000
  const dispatcher = new Agent({ connect: { timeout: timeoutMs }, maxRedirections: 0 } as never)
  return async (url) => {
    if (!safeUrl(url)) throw new Error('not an http(s) URL')
    const res = await request(url, {
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { accept: 'image/*' },
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new Error(`HTTP ${res.statusCode}`)
    }
    const declared = Number(res.headers['content-length'] ?? 0)
    if (declared > maxBytes) {
      res.body.destroy()
      throw new Error(`larger than ${maxBytes} bytes`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > maxBytes) {
        res.body.destroy()
        throw new Error(`larger than ${maxBytes} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    const contentType = String(res.headers['content-type'] ?? 'application/octet-stream')
    return { bytes: Buffer.concat(chunks), contentType }
  }
}
