/**
 * Seed users for benchmarks and demos: `seed000001` … in one statement per batch, with
 * names drawn from short lists so that searches find many and few. Every seeded user has the
 * same password (`SEED_PASSWORD`), hashed once. Running it again adds only what is missing.
 */
import { hashPassword } from '../auth/password.ts'
import type { Pool } from '../db/pool.ts'

export const SEED_PASSWORD = 'seed-user-password'

const FIRST = ['Ada', 'Alan', 'Barbara', 'Dennis', 'Edsger', 'Frances', 'Grace', 'Guido', 'Hedy', 'Ken', 'Linus', 'Margaret', 'Niklaus', 'Radia', 'Shafi', 'Tim']
const LAST = ['Allen', 'Berners-Lee', 'Dijkstra', 'Goldwasser', 'Hamilton', 'Hopper', 'Kay', 'Lamarr', 'Liskov', 'Lovelace', 'Perlman', 'Ritchie', 'Thompson', 'Torvalds', 'Turing', 'Wirth']

export interface SeedProgress {
  readonly done: number
  readonly total: number
}

export async function seedUsers(pool: Pool, total: number, onBatch: (progress: SeedProgress) => void = () => undefined, batchSize = 10_000): Promise<number> {
  const hash = await hashPassword(SEED_PASSWORD)
  let inserted = 0
  for (let start = 1; start <= total; start += batchSize) {
    const end = Math.min(total, start + batchSize - 1)
    const { rowCount } = await pool.query(
      `INSERT INTO users (username, email, full_name, password_hash, role, is_active, created_at)
       SELECT 'seed' || lpad(g::text, 6, '0'),
              'seed' || lpad(g::text, 6, '0') || '@example.' || (ARRAY['com', 'org', 'net'])[1 + g % 3],
              ($1::text[])[1 + g % cardinality($1::text[])] || ' ' || ($2::text[])[1 + (g / cardinality($1::text[])) % cardinality($2::text[])],
              $3, 'user', g % 50 <> 0, now() - make_interval(mins => g)
       FROM generate_series($4::int, $5::int) AS g
       ON CONFLICT DO NOTHING`,
      [FIRST, LAST, hash, start, end],
    )
    inserted += rowCount ?? 0
    onBatch({ done: end, total })
  }
  // VACUUM merges the trigram indexes' pending lists that a bulk insert leaves, and ANALYZE
  // gives the planner the new row counts: without them it may not see that an index serves.
  await pool.query('VACUUM ANALYZE users')
  return inserted
}
