// The users API contract over HTTP against `npm run dev` (a child process), on a data folder
// of its own, or on DATABASE_URL's server when that is set.
import { externalUrl } from '../support/database.ts'
import { devServerTarget } from '../support/targets.ts'
import { usersContract } from './contract.ts'

usersContract('over HTTP against the dev server', () => devServerTarget(externalUrl))
