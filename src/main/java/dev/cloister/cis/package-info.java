/**
 * CIS Docker Benchmark v1.6.0, section 5 (container runtime), judged from {@code docker inspect} of a job's container
 * and {@code docker info} of its engine, never by exec-ing into the container.
 *
 * <p>Only {@link dev.cloister.cis.InspectFacts} reads docker-java types; every check works on
 * {@link dev.cloister.cis.ContainerFacts}, so the checks are unit-tested without an engine.
 */
package dev.cloister.cis;
