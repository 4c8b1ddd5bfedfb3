/**
 * The body of every error but a 422, `{"detail": "..."}` (FastAPI's `HTTPException`), as a
 * schema for the OpenAPI document: the routes' own error answers and the toolkit's (a body
 * that cannot be read, is too large or of a type the route does not take) name it alike.
 */
import * as v from 'valibot'

export const HTTPError = v.pipe(v.object({ detail: v.string() }), v.title('HTTPError'))
