-- Seccomp profiles that admitted plans use, once per exact text (by digest), instead of a copy of the profile
-- (about 9 KB) in every job's plan: the copies were most of each job row, and writing them most of a submission.
-- Plans stored before this migration keep their inline copy and are read as they are.
create table seccomp_profiles (
    digest varchar(71)      not null primary key,
    name   varchar(255)     not null,
    json   varchar(1000000) not null
);
