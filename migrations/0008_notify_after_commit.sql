-- Readers are woken by a notification the appender sends after its commit (see
-- appendToStream in src/store/event-store.ts), no longer by a trigger inside the appending
-- transaction: PostgreSQL serialises the commits of notifying transactions, which capped
-- append throughput. Readers still poll, so a writer that never notifies (a crash after
-- commit, a hand-written INSERT) costs latency, never an event.
DROP TRIGGER IF EXISTS events_appended ON events;
DROP FUNCTION IF EXISTS notify_events_appended();
