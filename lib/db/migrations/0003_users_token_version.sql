-- Up Migration
-- Access tokens carry the version they were issued at (lib/auth/tokens.ts, claim `ver`); a
-- change of password, role or active state moves it on, so every token issued before the
-- change is refused after it. It is read with the user on every authenticated request, in the
-- same statement, so checking it costs no round trip.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE users DROP COLUMN token_version;
