-- Up Migration
CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text        NOT NULL,
  email         text        NOT NULL,
  full_name     text,
  password_hash text        NOT NULL,
  role          text        NOT NULL DEFAULT 'user',
  is_active     boolean     NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz,
  CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9_.-]{3,32}$'),
  CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
  CONSTRAINT users_full_name_length CHECK (char_length(full_name) <= 100),
  CONSTRAINT users_role_known CHECK (role IN ('user', 'admin', 'super_admin'))
);

CREATE UNIQUE INDEX users_username_key ON users (username);
-- Addresses are unique whatever their case: Alice@x and alice@x are one mailbox.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE user_avatars (
  user_id      bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  content_type text        NOT NULL,
  data         bytea       NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT user_avatars_type_known CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
  CONSTRAINT user_avatars_size_limit CHECK (octet_length(data) <= 1048576)
);

-- Down Migration
DROP TABLE user_avatars;
DROP TABLE users;
