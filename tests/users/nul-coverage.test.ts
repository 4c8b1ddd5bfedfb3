/**
 * The NUL sweep of the contract (nul-cases.ts) covers every text field that a route
 * declares, read from the routes themselves: a route or field added later without a case
 * fails here.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type * as v from 'valibot'
import { createApp } from '../../lib/http/app.ts'
import { loadRoutes } from '../../lib/generated/routes.ts'
import { NUL_CASES } from './nul-cases.ts'

type Entry = v.GenericSchema & { readonly wrapped?: Entry; readonly entries?: Record<string, Entry> }

/** Whether a field takes text: a string (an integer parameter is one too) or a choice of strings. */
function takesText(schema: Entry): boolean {
  let inner = schema
  while (inner.wrapped !== undefined) inner = inner.wrapped // optional, nullable, nullish
  return inner.type === 'string' || inner.type === 'picklist'
}

const LOCATIONS = { param: 'path', query: 'query', header: 'header', json: 'body', form: 'body' } as const

describe('the NUL sweep', () => {
  it('has a case for every text field of every route', async () => {
    const app = createApp({ routes: await loadRoutes(), env: {} })
    const declared: string[] = []
    for (const route of app.routes) {
      for (const [target, location] of Object.entries(LOCATIONS)) {
        const schema = (route.validation as Record<string, Entry | undefined> | undefined)?.[target]
        for (const [field, entry] of Object.entries(schema?.entries ?? {})) {
          if (takesText(entry)) declared.push(`${route.key} ${location}.${field}`)
        }
      }
    }
    assert.ok(declared.length >= 10, `text fields were found (${declared.length})`)
    assert.deepEqual(NUL_CASES.map((item) => `${item.route} ${item.location}.${item.field}`).sort(), declared.sort())
  })
})
