-- A target is unique by kind, host and port: a mail server and a web
-- server on the same name and port (smtps and https on 465 is odd, but
-- smtp://mx and https://mx are not) can both be registered. Targets
-- registered before keep their kind.
ALTER TABLE targets DROP CONSTRAINT targets_host_port_key;
ALTER TABLE targets ADD CONSTRAINT targets_kind_host_port_key UNIQUE (kind, host, port);
