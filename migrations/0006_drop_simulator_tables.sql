-- The payment gateway simulator's books do not belong in a production database: they moved to
-- the simulator migration set (migrations/simulators/, schema `simulators`), which copies the
-- rows out of these tables and is applied before this set wherever the simulators are in use.
-- 0002 stays as released (migrations are checksummed); this undoes its last two tables.

DROP TABLE IF EXISTS public.sim_gateway_authorizations;
DROP TABLE IF EXISTS public.sim_gateway_attempts;
