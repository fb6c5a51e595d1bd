/**
 * Feishu's long-connection frame (`pbbp2.Frame`, protobuf), as the official
 * Node SDK's WSClient encodes it: 1 SeqID u64, 2 LogID u64, 3 service i32,
 * 4 method i32 (0 control, 1 data), 5 headers {1 key, 2 value}, 6
 * payload_encoding, 7 payload_type, 8 payload bytes, 9 LogIDNew.
 */
export interface Frame {
  SeqID: bigint
  LogID: bigint
  service: number
  method: number
  headers: Array<{ key: string; value: string }>
  payload?: Uint8Array
  LogIDNew?: string
}

function varint(out: number[], value: bigint): void {
  let v = BigInt.asUintN(64, value)
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v) byte |= 0x80
    out.push(byte)
  } while (v)
}

function bytesField(out: number[], field: number, data: Uint8Array): void {
  varint(out, BigInt((field << 3) | 2))
  varint(out, BigInt(data.length))
  for (const b of data) out.push(b)
}

const text = (s: string) => new TextEncoder().encode(s)

export function encodeFrame(frame: Frame): Uint8Array {
  const out: number[] = []
  varint(out, 8n)
  varint(out, frame.SeqID)
  varint(out, 16n)
  varint(out, frame.LogID)
  varint(out, 24n)
  varint(out, BigInt(frame.service))
  varint(out, 32n)
  varint(out, BigInt(frame.method))
  for (const h of frame.headers) {
    const inner: number[] = []
    bytesField(inner, 1, text(h.key))
    bytesField(inner, 2, text(h.value))
    bytesField(out, 5, Uint8Array.from(inner))
  }
  if (frame.payload) bytesField(out, 8, frame.payload)
  if (frame.LogIDNew) bytesField(out, 9, text(frame.LogIDNew))
  return Uint8Array.from(out)
}

class Reader {
  at = 0
  constructor(private readonly buf: Uint8Array) {}
  get done() {
    return this.at >= this.buf.length
  }
  varint(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = this.buf[this.at++]
      if (byte === undefined) throw new Error('truncated frame')
      result |= BigInt(byte & 0x7f) << shift
      if (!(byte & 0x80)) return result
      shift += 7n
    }
  }
  bytes(): Uint8Array {
    const length = Number(this.varint())
    const slice = this.buf.subarray(this.at, this.at + length)
    this.at += length
    return slice
  }
  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 2) this.bytes()
    else if (wire === 1) this.at += 8
    else if (wire === 5) this.at += 4
    else throw new Error(`unknown wire type ${wire}`)
  }
}

export function decodeFrame(buf: Uint8Array): Frame {
  const r = new Reader(buf)
  const frame: Frame = { SeqID: 0n, LogID: 0n, service: 0, method: 0, headers: [] }
  const decoder = new TextDecoder()
  while (!r.done) {
    const tag = Number(r.varint())
    const field = tag >> 3
    const wire = tag & 7
    if (field === 1 && wire === 0) frame.SeqID = r.varint()
    else if (field === 2 && wire === 0) frame.LogID = r.varint()
    else if (field === 3 && wire === 0) frame.service = Number(BigInt.asIntN(32, r.varint()))
    else if (field === 4 && wire === 0) frame.method = Number(BigInt.asIntN(32, r.varint()))
    else if (field === 5 && wire === 2) {
      const h = new Reader(r.bytes())
      const header = { key: '', value: '' }
      while (!h.done) {
        const t = Number(h.varint())
        if (t >> 3 === 1 && (t & 7) === 2) header.key = decoder.decode(h.bytes())
        else if (t >> 3 === 2 && (t & 7) === 2) header.value = decoder.decode(h.bytes())
        else h.skip(t & 7)
      }
      frame.headers.push(header)
    } else if (field === 8 && wire === 2) frame.payload = r.bytes()
    else if (field === 9 && wire === 2) frame.LogIDNew = decoder.decode(r.bytes())
    else r.skip(wire)
  }
  return frame
}
