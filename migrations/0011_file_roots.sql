-- Every account's file tree root exists from the account's creation on,
-- committed with the users row.  lib/files created it on first use inside
-- a request's transaction: a new account's first parallel requests (a sync
-- client starting up) raced for it - one inserted the root, another's
-- INSERT ... ON CONFLICT then locked the committed row and waited for the
-- tree's lock, which a third held while it waited to update that row:
-- a deadlock (tests/integration/test_dav.py::test_first_requests_of_a_new_account).
-- files_root keeps its fallback for a root that is missing anyway.
CREATE FUNCTION files_create_root() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO files (owner_id, parent_id, name, is_dir, mimetype, size,
	    mtime, etag)
	VALUES (NEW.id, NULL, '', true, 'httpd/unix-directory', 0,
	    extract(epoch FROM now())::bigint,
	    substr(md5(gen_random_uuid()::text), 1, 16))
	ON CONFLICT (owner_id) WHERE parent_id IS NULL DO NOTHING;
	RETURN NEW;
END
$$;

CREATE TRIGGER users_file_root AFTER INSERT ON users
	FOR EACH ROW EXECUTE FUNCTION files_create_root();

INSERT INTO files (owner_id, parent_id, name, is_dir, mimetype, size, mtime,
    etag)
SELECT u.id, NULL, '', true, 'httpd/unix-directory', 0,
    extract(epoch FROM now())::bigint,
    substr(md5(gen_random_uuid()::text), 1, 16)
FROM users u
WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.owner_id = u.id AND
    f.parent_id IS NULL);
