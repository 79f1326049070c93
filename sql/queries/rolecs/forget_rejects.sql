-- A source's reject rows, before its new load writes the current ones. Parameter: source.
DELETE FROM rolecs.persona_rejects WHERE source = ?
