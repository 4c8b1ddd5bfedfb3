/**
 * Every text field of every route, for the sweep with text PostgreSQL cannot store (a NUL):
 * the contract sends each one and expects a 422 at its place (sign-in: 401, as for any
 * unknown user or wrong password). tests/users/nul-coverage.test.ts checks against the routes'
 * own declarations that no text field is missing here.
 */
export interface NulCase {
  /** `POST /users`, as the routes name themselves. */
  readonly route: string
  readonly location: 'path' | 'query' | 'header' | 'body'
  readonly field: string
  readonly status: 401 | 422
}

const each = (route: string, location: NulCase['location'], fields: readonly string[], status: NulCase['status'] = 422): NulCase[] =>
  fields.map((field) => ({ route, location, field, status }))

export const NUL_CASES: readonly NulCase[] = [
  ...each('POST /auth/token', 'body', ['username', 'password'], 401),
  ...each('GET /users', 'query', ['page', 'results_per_page', 'search']),
  ...each('POST /users', 'body', ['username', 'email', 'password', 'full_name', 'role']),
  ...each('GET /users/{id}', 'path', ['id']),
  ...each('PATCH /users/{id}', 'path', ['id']),
  ...each('PATCH /users/{id}', 'body', ['email', 'full_name', 'password', 'role']),
  ...each('DELETE /users/{id}', 'path', ['id']),
  ...each('GET /users/{id}/avatar', 'path', ['id']),
  ...each('PUT /users/{id}/avatar', 'path', ['id']),
]
