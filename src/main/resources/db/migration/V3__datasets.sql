-- Registered datasets: what a restarted service needs to admit jobs that name them (the directory under the datasets
-- root, the owning team, the content digest taken at registration, and the verified Sigstore signature with its bundle). Portable SQL.
create table datasets (
    name               varchar(64)      not null primary key,
    team               varchar(64)      not null,
    directory          varchar(4096)    not null,
    digest             varchar(71)      not null,
    files              bigint           not null,
    bytes              bigint           not null,
    registered_at      timestamp(6) with time zone not null,
    signature_identity varchar(1024),
    signature_issuer   varchar(1024),
    signature_file     varchar(4096),
    signature_source   varchar(16),
    signature_bundle   varchar(1000000)
);
