/**
 * The error of a setting that cannot be used, naming its variable: `PORT: must be a whole
 * number`. A module of its own, with no imports, so that what reads one setting in every
 * function (the CORS policy, lib/http/cors-policy.ts) and SST's build of sst.config.ts can
 * throw it without carrying the whole reader (lib/config.ts: valibot, sst/resource).
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly variable: string

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.variable = variable
  }
}
