-- A job may re-run a sealed job to check that it reproduces (POST /api/v1/jobs/{id}/reproduce): the original's id.
alter table jobs add column reproduction_of varchar(64);
