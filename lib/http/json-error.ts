/**
 * Where a JSON text stops being JSON, as Python's `json` module reports it (FastAPI answers
 * a malformed body with `loc: ["body", <offset>]`). `JSON.parse` does the parsing; this
 * scanner runs only after it has failed, because V8's messages do not always carry the
 * position (Node 22's "Unexpected token" messages do not).
 */
export interface JsonSyntaxError {
  /** Offset in characters (code points, as Python counts them). */
  readonly offset: number
  readonly message: string
}

class Stop {
  readonly index: number
  readonly message: string
  constructor(index: number, message: string) {
    this.index = index
    this.message = message
  }
}

const WS = new Set([' ', '\t', '\n', '\r'])
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

function scan(text: string): void {
  let i = 0
  const ws = () => {
    while (WS.has(text[i] ?? '')) i++
  }
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length
        return
      }
    }
    NUMBER.lastIndex = i
    if (c !== undefined && NUMBER.test(text)) {
      i = NUMBER.lastIndex
      return
    }
    throw new Stop(i, 'Expecting value')
  }
  const string = (): void => {
    const start = i++
    for (;;) {
      const c = text[i]
      if (c === undefined) throw new Stop(start, 'Unterminated string starting at')
      if (c === '"') {
        i++
        return
      }
      if (c < ' ') throw new Stop(i, 'Invalid control character at')
      if (c === '\\') {
        const e = text[i + 1]
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i + 1, 'Invalid \\uXXXX escape')
          i += 6
          continue
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i, 'Invalid \\escape')
        i += 2
        continue
      }
      i++
    }
  }
  const object = (): void => {
    i++
    ws()
    if (text[i] === '}') {
      i++
      return
    }
    for (;;) {
      ws()
      if (text[i] !== '"') throw new Stop(i, 'Expecting property name enclosed in double quotes')
      string()
      ws()
      if (text[i] !== ':') throw new Stop(i, "Expecting ':' delimiter")
      i++
      value()
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      if (text[i] !== ',') throw new Stop(i, "Expecting ',' delimiter")
      i++
    }
  }
  const array = (): void => {
    i++
    ws()
    if (text[i] === ']') {
      i++
      return
    }
    for (;;) {
      value()
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      if (text[i] !== ',') throw new Stop(i, "Expecting ',' delimiter")
      i++
    }
  }
  value()
  ws()
  if (i < text.length) throw new Stop(i, 'Extra data')
}

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    scan(text)
    return undefined
  } catch (error) {
    // A text nested deeper than the stack allows is reported at its start.
    if (error instanceof RangeError) return { offset: 0, message: 'Nested too deeply' }
    if (!(error instanceof Stop)) throw error
    return { offset: [...text.slice(0, error.index)].length, message: error.message }
  }
}
