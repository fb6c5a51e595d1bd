import { readFileSync } from 'node:fs'

export interface CodeBlock {
  lang: string
  text: string
  /** 1-based line of the opening fence, for messages. */
  line: number
}

/** The fenced code blocks of a Markdown file, in order. */
export function codeBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!)
    blocks.push({ lang: open[1] ?? '', text: `${body.join('\n')}\n`, line: start + 1 })
  }
  return blocks
}
