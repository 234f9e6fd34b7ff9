-- The audit log: one row per entry, the line exactly as the log wrote and hashed it (its chain and signed checkpoints
-- make any edit, deletion, insertion or reordering of rows detectable; see dev.cloister.audit). Portable SQL.
create table audit_entries (
    seq    bigint           not null primary key,
    action varchar(64)      not null,
    line   varchar(1000000) not null
);

create index audit_entries_action on audit_entries (action);
