import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorMessage } from './errors.js'

/** Small helpers for the receiver's node:http handlers. */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/** Reads the body up to `limit` bytes; past it, answers 413 without reading the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(new HttpError(413, `body of ${declared} bytes is over the ${limit}-byte limit`))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        reject(new HttpError(413, `body is over the ${limit}-byte limit`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
    })
    req.on('error', (error) => {
      if (!done) reject(error)
    })
  })
}

/** Parses a JSON body, rejecting bad UTF-8 and anything that is not an object. */
export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  // JSON only: a web page can post text/plain, forms and multipart without asking (CSRF), not JSON.
  if (!contentType || !/^application\/(json|[\w.+-]+\+json)\b/i.test(contentType))
    throw new HttpError(
      415,
      `content-type must be application/json, got ${contentType ? contentType.slice(0, 60) : 'none'}`,
    )
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new HttpError(400, 'body is not valid UTF-8')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, `body is not valid JSON: ${errorMessage(error).slice(0, 120)}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'body must be a JSON object')
  return value
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  // A line: curl and terminals show the next prompt on a line of its own.
  const text = `${JSON.stringify(value)}\n`
  if (res.headersSent) return
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  if (res.headersSent) return
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}
