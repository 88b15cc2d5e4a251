/*
 * site-private.h: what the site layer's files share (run.c, output_*.c, report.c).  Not for
 * other modules, nor for the channel layer's files.
 */
#ifndef WA_SITE_PRIVATE_H
#define WA_SITE_PRIVATE_H

#include <stdio.h>

#include "analysis/analysis.h"

/* Schema name written into every JSON document; docs/analysis-json.md describes version 1.
 * The name carries the major version only, so that readers of 1.0 keep matching it; the
 * minor version is in "schema_version" and grows when fields are added. */
#define AN_JSON_SCHEMA "wattaudit.analysis/1"
#define AN_JSON_SCHEMA_VERSION "1.2"

/* The writers behind an_write().  0, or -1 with errno and err. */
int an_output_text(const an_result_t *r, FILE *out, char *err, size_t errlen);
int an_output_csv(const an_result_t *r, FILE *out, char *err, size_t errlen);
int an_output_json(const an_result_t *r, FILE *out, char *err, size_t errlen);

/* The JSON document as a cJSON tree (the report's JSON embeds it).  NULL with errno ENOMEM. */
struct cJSON;
struct cJSON *an_result_json(const an_result_t *r);

/* A CSV field: quoted when it holds a separator, a quote or a line break. */
void an_csv_field(FILE *out, const char *s);

/* Where gap g of channel c lies in its window (c->from, to]: "start" if it begins the window,
 * "end" if it ends it (data that begin late or stop early), else "inside". */
const char *an_gap_position(const an_channel_result_t *c, int64_t to, const an_gap_t *g);

/* A channel's gaps for people: "3 gaps, 5.1 h", "1 gap: no data before 2026-11-02 00:01, the
 * window's first 1 min" (data that begin late or stop early are said so); "" without gaps.
 * Times in tz.  Returns the length written, as snprintf. */
int an_gaps_describe(const an_channel_result_t *c, int64_t to, const char *tz, char *buf,
                     size_t len);

/* 1 if a finding of channel c still runs at the end of its data (its savings count). */
int an_finding_active(const an_channel_result_t *c, const an_finding_t *f);

/* ---- correlation with the hosts (hosts.c, corr_run.c; docs/correlate.md) ---- */

/* One site's inventory and declarations during a run: its hosts indexed by id and by channel,
 * the research jobs of each host, the flagged addresses.  Owned by an_collect(). */
typedef struct an_site_corr an_site_corr_t;

/* Reads the site's jobs_file, slurm_file and flagged_ips_file and fills s->hosts, s->flagged
 * and s->n_jobs from the config's site.  NULL with errno and err: a file that cannot be read,
 * or a bad row as "FILE:LINE: what". */
an_site_corr_t *an_site_corr_open(const sc_site_t *cfg, const char *data_dir,
                                  an_site_result_t *s, char *err, size_t errlen);
void an_site_corr_close(an_site_corr_t *sc);

/* The config of the site's host k. */
const sc_host_t *an_site_corr_host(const an_site_corr_t *sc, size_t k);

/* The hosts on channel id: indexes into the site's hosts, in config order; NULL if none. */
const size_t *an_site_corr_hosts_on(const an_site_corr_t *sc, const char *id, size_t *n);

/* The declared jobs that name any of hosts[0..nh) and overlap (from, to], each once, in file
 * order: a malloc'd array in *out (the caller frees; NULL when none).  Returns the count, or
 * -1 with errno ENOMEM. */
struct cr_job;
int an_site_corr_jobs(const an_site_corr_t *sc, const size_t *hosts, size_t nh, int64_t from,
                      int64_t to, struct cr_job **out);

/* After the channel layer has judged c on w (its window's steps: w[i] covers (start + i*step,
 * start + (i+1)*step]): reads the utilisation of the hosts on c, fits the circuit, fills
 * c->corr, and gives each of c's findings its class (sc NULL: by shape alone).  A finding the
 * hosts' declared jobs account for becomes explained.  Problems with one host are noted on it,
 * never fatal.  rrdcached: as storage_fetch. */
void an_channel_correlate(an_site_corr_t *sc, const an_run_opts_t *o, const char *rrdcached,
                          an_site_result_t *site, an_channel_result_t *c, const double *w,
                          size_t n, int64_t start, int step);

/* After every channel of the site: notes on the hosts whose circuit was never read. */
void an_site_corr_finish(an_site_corr_t *sc, an_site_result_t *site);

void an_corr_free(an_corr_t *c);

/* The channel of s with this id, or NULL. */
const an_channel_result_t *an_site_channel(const an_site_result_t *s, const char *id);

#endif
