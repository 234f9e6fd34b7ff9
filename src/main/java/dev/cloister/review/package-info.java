/**
 * Evidence for security reviewers: the escape-probe suite run as jobs under a policy and its recorded results, and
 * the policy report (effective settings, seccomp summary, CIS results, latest probe results) in JSON and Markdown.
 */
package dev.cloister.review;
