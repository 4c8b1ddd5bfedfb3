import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as v from 'valibot'
import { boolParam, intParam } from '../../lib/http/params.ts'
import { problemsFromIssues } from '../../lib/http/problems.ts'

const problem = (schema: v.GenericSchema, input: string) => {
  const result = v.safeParse(schema, input)
  assert.equal(result.success, false)
  return problemsFromIssues('query', result.issues ?? [])[0]
}

describe('text parameters read as FastAPI reads them', () => {
  it('reads booleans as pydantic does, and names the rest bool_parsing', () => {
    for (const text of ['true', '1', 'Yes', 'on']) assert.equal(v.parse(boolParam(), text), true)
    for (const text of ['false', '0', 'no', 'OFF']) assert.equal(v.parse(boolParam(), text), false)
    assert.deepEqual(problem(boolParam(), 'maybe'), {
      loc: ['query'],
      type: 'bool_parsing',
      msg: 'Input should be a valid boolean, unable to interpret input',
    })
  })

  it('reads integers within bounds, with int_parsing and less_than_equal for the rest', () => {
    assert.equal(v.parse(intParam({ min: 1, max: 100 }), '13'), 13)
    assert.equal(problem(intParam(), '1.5')?.type, 'int_parsing')
    assert.deepEqual(problem(intParam({ max: 100 }), '101'), {
      loc: ['query'],
      type: 'less_than_equal',
      msg: 'Input should be less than or equal to 100',
      ctx: { le: 100 },
    })
  })
})
