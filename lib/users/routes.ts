import { Hono } from 'hono'
import * as v from 'valibot'
import type { AppEnv } from '../http/app.ts'
import { HttpError, RequestValidationError } from '../http/errors.ts'
import { findUserById } from './repository.ts'

/** A path id as FastAPI's `int` parameter reads it. */
const UserId = v.pipe(
  v.string(),
  v.regex(/^[+-]?\d+$/, 'Input should be a valid integer, unable to parse string as an integer'),
  v.transform(Number),
  v.safeInteger('Input should be a valid integer'),
)

export const getUser = new Hono<AppEnv>().get('/users/:id', async (c) => {
  const raw = c.req.param('id')
  const id = v.safeParse(UserId, raw)
  if (!id.success) {
    throw new RequestValidationError([{ loc: ['path', 'id'], msg: id.issues[0].message, type: 'int_parsing', input: raw }])
  }
  const user = await findUserById(c.var.state.pool, id.output)
  if (!user) throw new HttpError(404, 'User not found')
  return c.json(user)
})
