/**
 * A binary-safe multipart/form-data reader (RFC 7578). Feishu takes the image
 * part's bytes whether or not the part names a filename (the official Node SDK
 * sends none), so the parts are kept as bytes, not decoded as text or files.
 */
export interface Part {
  name: string
  filename?: string
  contentType?: string
  data: Buffer
}

export class MultipartError extends Error {}

export function parseMultipart(body: Buffer, contentType: string): Map<string, Part> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  const value = boundary?.[1] ?? boundary?.[2]
  if (!value) throw new MultipartError('no boundary in content-type')
  const delimiter = Buffer.from(`--${value}`)
  const parts = new Map<string, Part>()
  let at = body.indexOf(delimiter)
  if (at < 0) throw new MultipartError('boundary not found in the body')
  for (;;) {
    at += delimiter.length
    if (body.subarray(at, at + 2).toString() === '--') return parts
    if (body.subarray(at, at + 2).toString() !== '\r\n')
      throw new MultipartError('bad delimiter line')
    at += 2
    const headerEnd = body.indexOf('\r\n\r\n', at)
    if (headerEnd < 0) throw new MultipartError('part headers do not end')
    const headers = body.subarray(at, headerEnd).toString('utf8').split('\r\n')
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4)
    if (next < 0) throw new MultipartError('part does not end')
    const data = body.subarray(headerEnd + 4, next)
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? ''
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1]
    if (name === undefined) throw new MultipartError('part without a name')
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1]
    const type = headers.find((h) => /^content-type:/i.test(h))?.replace(/^content-type:\s*/i, '')
    parts.set(name, {
      name,
      data,
      ...(filename !== undefined ? { filename } : {}),
      ...(type ? { contentType: type } : {}),
    })
    at = next + 2
  }
}
